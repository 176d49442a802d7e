"""The renderer against geometry worked out by hand: depth along the optical axis, labels of
the hit surfaces, cast shadows, closed rooms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.synth.camera import CameraPose, camera_rays, make_intrinsics, sample_pose
from app.synth.classes import C
from app.synth.geometry import box
from app.synth.materials import solid
from app.synth.parts import Part
from app.synth.renderer import RoomRenderer
from app.synth.rooms import Light, generate_room, shell_room

W, H = 65, 49  # odd: the centre pixel lies exactly on the optical axis


@pytest.fixture(scope="module")
def empty():
    room = shell_room(4.0, 3.0, 2.6)
    return room, RoomRenderer(room, ao_rays=0)


def _analytic_floor_depth(pose: CameraPose, intr, height: float) -> np.ndarray:
    d = camera_rays(intr) @ pose.rotation().T
    return np.where(d[..., 2] < 0, height / np.maximum(-d[..., 2], 1e-12), np.inf)


def test_straight_down_sees_floor_at_camera_height(empty):
    room, r = empty
    intr = make_intrinsics(W, H)
    pose = CameraPose((2.0, 1.5, 1.3), yaw=0.4, pitch=-math.pi / 2)
    v = r.render(pose, intr)
    assert (v.labels == C.FLOOR).all()
    np.testing.assert_allclose(v.depth, 1.3, atol=2e-4)  # z-depth of a plane facing the camera is constant


def test_tilted_view_of_floor_is_height_over_cos(empty):
    room, r = empty
    intr = make_intrinsics(W, H)
    tilt = math.radians(25)  # optical axis 25 degrees off vertical
    h = 1.2
    pose = CameraPose((2.0, 1.5, h), yaw=0.0, pitch=-(math.pi / 2 - tilt))
    v = r.render(pose, intr)
    cy, cx = H // 2, W // 2
    assert v.labels[cy, cx] == C.FLOOR
    assert v.depth[cy, cx] == pytest.approx(h / math.cos(tilt), abs=2e-4)
    floor = v.labels == C.FLOOR
    expected = _analytic_floor_depth(pose, intr, h)
    assert floor.mean() > 0.5
    np.testing.assert_allclose(v.depth[floor], expected[floor], rtol=2e-4)


def test_up_sees_ceiling(empty):
    room, r = empty
    intr = make_intrinsics(W, H)
    v = r.render(CameraPose((2.0, 1.5, 1.5), yaw=1.0, pitch=math.pi / 2), intr)
    assert (v.labels == C.CEILING).all()
    np.testing.assert_allclose(v.depth, room.height - 1.5, atol=2e-4)


def test_wall_depth_is_along_the_axis_not_the_ray(empty):
    room, r = empty
    intr = make_intrinsics(W, H)
    pose = CameraPose((2.2, 1.5, 1.3), yaw=0.0, pitch=0.0)
    v = r.render(pose, intr)
    # the whole view is the wall x = 4, facing the camera: every pixel is 1.8 m deep although
    # the corner rays are about 20 % longer than the central one
    assert (v.labels == C.WALL).all()
    np.testing.assert_allclose(v.depth, 1.8, atol=2e-4)
    ray_length = 1.8 * np.linalg.norm(camera_rays(intr), axis=-1)
    assert ray_length.max() > 1.15 * 1.8


def test_labels_match_a_box_in_view():
    lo, hi = np.array([2.0, 1.2, 0.0]), np.array([2.6, 1.9, 0.8])
    part = Part(box(lo, hi), C.BED, (solid((0.5, 0.4, 0.3)),))
    room = shell_room(4.0, 3.0, 2.6, extra_parts=[part])
    intr = make_intrinsics(W, H)
    pose = CameraPose((0.5, 1.5, 1.4), yaw=0.05, pitch=-0.35)
    v = RoomRenderer(room, ao_rays=0).render(pose, intr)
    # slab test per pixel ray against the box
    d = camera_rays(intr) @ pose.rotation().T
    o = np.asarray(pose.position)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - o) / d, (hi - o) / d
    tnear = np.nanmax(np.minimum(t1, t2), axis=-1)
    tfar = np.nanmin(np.maximum(t1, t2), axis=-1)
    inside = (tnear <= tfar) & (tfar > 0)
    got = v.labels == C.BED
    assert inside.sum() > 100
    assert (got != inside).sum() <= 0.02 * inside.sum()  # only pixels grazing an edge may differ
    np.testing.assert_allclose(v.depth[got & inside], tnear[got & inside], rtol=1e-3)


def test_cast_shadow_darkens_the_floor_behind_a_box():
    lo, hi = np.array([1.8, 1.3, 0.0]), np.array([2.2, 1.7, 0.9])
    grey = solid((0.5, 0.5, 0.5), noise=0.0)
    part = Part(box(lo, hi), C.BOX, (grey,))
    room = shell_room(4.0, 3.0, 2.6, lights=[Light((2.0, 1.5, 2.3), (5.0, 5.0, 5.0))], ambient=0.05, extra_parts=[part])
    room.parts = [Part(p.mesh, p.cls, (grey,)) if p.cls == C.FLOOR else p for p in room.parts]
    intr = make_intrinsics(W, H)
    pose = CameraPose((2.0, 1.5, 2.0), yaw=0.0, pitch=-math.pi / 2)  # under the light, looking down
    # the light is right above the box: its top is lit, the floor around it lit, nothing shadowed yet
    r = RoomRenderer(room, ao_rays=0)
    lit = r.render(pose, intr)
    # move the light aside: the floor on the far side of the box now lies in its shadow
    room.lights = [Light((0.6, 1.5, 1.6), (5.0, 5.0, 5.0))]
    r = RoomRenderer(room, ao_rays=0)
    v = r.render(pose, intr)
    lum = v.rgb.mean(axis=-1)
    floor = v.labels == C.FLOOR
    d = camera_rays(intr) @ pose.rotation().T
    p = np.asarray(pose.position) + d * v.depth[..., None]
    # floor points right behind the box seen from the light (x in 2.25..2.6, y near the middle)
    behind = floor & (p[..., 0] > 2.25) & (p[..., 0] < 2.6) & (np.abs(p[..., 1] - 1.5) < 0.12)
    # floor points as far from the light but beside the box's shadow
    beside = (
        floor
        & (p[..., 0] > 2.25)
        & (p[..., 0] < 2.6)
        & (np.abs(p[..., 1] - 1.5) > 0.45)
        & (np.abs(p[..., 1] - 1.5) < 0.6)
    )
    assert behind.sum() > 5 and beside.sum() > 5
    assert lum[behind].mean() < 0.5 * lum[beside].mean()
    assert (lit.labels == v.labels).all()


def test_furnished_room_is_closed_and_labels_are_nyu40():
    room = generate_room(seed=11, index=2)
    r = RoomRenderer(room, ao_rays=1)
    intr = make_intrinsics(40, 30)
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = r.render(sample_pose(room, rng, r.probe), intr, rng)
        assert v.labels.dtype == np.uint8
        assert v.labels.min() >= 1 and v.labels.max() <= 40  # no ray escapes a closed room
        assert np.isfinite(v.depth).all() and (v.depth > 0).all()
        assert np.isfinite(v.rgb).all() and (v.rgb >= 0).all()


def test_close_ups_look_at_one_object_from_nearby():
    """--close-ups: views of a placed object from 0.7-2.2 m, so the frame is nearer than a room view."""
    medians = {0.0: [], 1.0: []}
    for index in range(3):
        room = generate_room(seed=12, index=index)
        r = RoomRenderer(room, ao_rays=0)
        for share in medians:
            rng = np.random.default_rng(index)
            for _ in range(4):
                medians[share].append(float(np.median(r.probe(sample_pose(room, rng, r.probe, close_ups=share)))))
    assert np.median(medians[1.0]) < 0.75 * np.median(medians[0.0])
    assert min(medians[1.0]) > 0.6  # never a wall right in front of the lens


def test_level_views_look_along_the_horizon_and_off_changes_nothing():
    """--level-views 1: every room view within -10..+12 deg of level (room views otherwise look
    down at furniture); --level-views 0 draws nothing, so a seed's poses stay as they were."""
    pitches = {0.0: [], 1.0: []}
    for index in range(3):
        room = generate_room(seed=12, index=index)
        r = RoomRenderer(room, ao_rays=0)
        for share in pitches:
            rng, same = np.random.default_rng(index), np.random.default_rng(index)
            for _ in range(4):
                pose = sample_pose(room, rng, r.probe, level_views=share)
                pitches[share].append(math.degrees(pose.pitch))
                if share == 0.0:
                    assert pose == sample_pose(room, same, r.probe)
    assert all(-10.0 <= p <= 12.0 for p in pitches[1.0])
    assert np.median(np.abs(pitches[1.0])) < 4.0
    assert np.median(pitches[0.0]) < -8.0  # the default stays a downward look


WALL_ITEM_CLASSES = [C.WHITEBOARD, C.DOOR, C.WINDOW, C.BLINDS, C.CURTAIN, C.PICTURE, C.MIRROR, C.PAPER]


def test_wall_views_frame_boards_doors_windows_and_pictures_and_off_changes_nothing():
    """--wall-views 1: the frame is filled far more by the flat things on the walls than a view
    aimed at furniture is; --wall-views 0 draws nothing, so a seed's poses stay as they were."""
    intr = make_intrinsics(W, H)
    share = {0.0: [], 1.0: []}
    for index in range(3):
        room = generate_room(seed=12, index=index, wall_clutter=True)
        assert room.wall_targets
        r = RoomRenderer(room, ao_rays=0)
        for views in share:
            rng, same = np.random.default_rng(index), np.random.default_rng(index)
            for _ in range(4):
                pose = sample_pose(room, rng, r.probe, wall_views=views)
                if views == 0.0:
                    assert pose == sample_pose(room, same, r.probe)
                share[views].append(float(np.isin(r.render(pose, intr).labels, WALL_ITEM_CLASSES).mean()))
    assert np.median(share[1.0]) > 0.1
    assert np.mean(share[1.0]) > 3 * np.mean(share[0.0])


@pytest.mark.parametrize("kind", ["counter", "vanity"])
def test_looking_into_a_sink_sees_the_basin(kind):
    from app.synth import kitchen_bath

    for seed in range(50):  # the first item of this kind that has a basin
        rng = np.random.default_rng(seed)
        item = kitchen_bath.counter_run(rng, 1.8) if kind == "counter" else kitchen_bath.washbasin(rng)
        if item.kind == kind and any(p.cls == C.SINK for p in item.parts):
            break
    sink = np.concatenate([p.mesh.vertices for p in item.parts if p.cls == C.SINK])
    floor_of_basin = sink[:, 2].min()
    centre = (sink[:, :2].min(axis=0) + sink[:, :2].max(axis=0)) / 2
    parts = [p.transformed(None, (2.0, 1.5, 0.0)) for p in item.parts]
    room = shell_room(4.0, 3.0, 2.6, extra_parts=parts)
    pose = CameraPose((2.0 + centre[0], 1.5 + centre[1] + 0.05, 1.8), yaw=0.0, pitch=-math.pi / 2)
    v = RoomRenderer(room, ao_rays=0).render(pose, make_intrinsics(W, H))
    assert v.labels[H // 2, W // 2] == C.SINK
    assert v.depth[H // 2, W // 2] == pytest.approx(1.8 - floor_of_basin - 0.01, abs=0.02)


@pytest.mark.parametrize(("make", "extent"), [("written_board", 2.0), ("printed_paper", 0.3)])
def test_writing_texture_is_dark_strokes_on_a_light_ground(make, extent):
    """Whiteboards and notices: most of the surface is the light ground, a few per cent ink."""
    from app.synth import materials
    from app.synth.textures import albedo, material_table

    shares = []
    for seed in range(6):
        m = getattr(materials, make)(np.random.default_rng(seed))
        u, v = np.meshgrid(np.linspace(0, extent, 300), np.linspace(0, extent * 0.6, 180))
        u, v = u.ravel().astype(np.float32), v.ravel().astype(np.float32)
        a = albedo(material_table([m]), np.zeros(u.size, np.int64), u, v)
        lum = a.mean(axis=1)
        ground = float(np.median(lum))
        assert ground > 0.4  # light (linear RGB): the ground is what the eye sees
        shares.append(float(np.mean(lum < 0.6 * ground)))
    assert 0.01 < np.mean(shares) < 0.35 and max(shares) > 0.03
