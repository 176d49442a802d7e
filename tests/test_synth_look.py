"""`sgnet synth --photo-look`: supersampled colour centred on the pixels, lamp glare where the
mirror direction says, writing in lines of text, and depth and labels left as they were."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_runner import run_cli

from app.synth.camera import CameraPose, camera_rays, make_intrinsics, sample_pose
from app.synth.classes import C
from app.synth.materials import solid
from app.synth.parts import Part
from app.synth.renderer import PHOTO_LOOK, Look, RoomRenderer, _supersampled
from app.synth.rooms import Light, generate_room, shell_room
from app.synth.textures import FABRIC, MARKER, WRITING, Material, albedo, legible_writing, material_table


@pytest.mark.parametrize("f", [2, 3])
def test_supersampled_blocks_average_to_the_pixel_rays(f):
    intr = make_intrinsics(40, 30)
    fine = camera_rays(_supersampled(intr, f))
    block_mean = fine.reshape(30, f, 40, f, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(block_mean, camera_rays(intr), atol=1e-12)
    # and the sub-pixels really spread across the pixel, a 1/f of a pixel apart
    step = 1.0 / intr.fx / f
    assert fine[0, 1, 0] - fine[0, 0, 0] == pytest.approx(step)


def test_photo_look_keeps_depth_and_labels_and_changes_colour():
    room = generate_room(seed=3, index=1, wall_clutter=True)
    intr = make_intrinsics(48, 36)
    plain_renderer = RoomRenderer(room, ao_rays=1)
    pose = sample_pose(room, np.random.default_rng(2), plain_renderer.probe)
    plain = plain_renderer.render(pose, intr, np.random.default_rng(0))
    photo = RoomRenderer(room, ao_rays=1, look=PHOTO_LOOK).render(pose, intr, np.random.default_rng(0))
    np.testing.assert_array_equal(photo.depth, plain.depth)
    np.testing.assert_array_equal(photo.labels, plain.labels)
    np.testing.assert_array_equal(photo.geometry, plain.geometry)
    assert photo.rgb.shape == plain.rgb.shape
    assert np.abs(photo.rgb - plain.rgb).mean() > 1e-3


def _floor_scene(floor_material: Material):
    light = (2.0, 1.5, 2.3)
    room = shell_room(4.0, 3.0, 2.6, lights=[Light(light, (4.0, 4.0, 4.0))], ambient=0.05)
    room.parts = [Part(p.mesh, p.cls, (floor_material,)) if p.cls == C.FLOOR else p for p in room.parts]
    pose = CameraPose((1.0, 1.5, 1.5), yaw=0.0, pitch=-math.radians(50))
    return room, pose, light


def test_glare_sits_where_the_floor_mirrors_the_lamp():
    glossy = solid((0.5, 0.5, 0.5), noise=0.0, mirror=0.08)
    room, pose, light = _floor_scene(glossy)
    intr = make_intrinsics(81, 61)
    base = RoomRenderer(room, ao_rays=0).render(pose, intr)
    glare = RoomRenderer(room, ao_rays=0, look=Look(glare=True)).render(pose, intr)
    gain = (glare.rgb - base.rgb).mean(axis=-1)
    floor = base.labels == C.FLOOR
    gain[~floor] = -np.inf
    iy, ix = np.unravel_index(np.argmax(gain), gain.shape)
    assert gain[iy, ix] > 0.3 * base.rgb[floor].mean()
    # the mirror image of the lamp under the floor, seen from the camera, crosses z = 0 here
    cam = np.asarray(pose.position)
    image = np.array([light[0], light[1], -light[2]])
    expected = cam + (image - cam) * cam[2] / (cam[2] + light[2])
    ray = camera_rays(intr)[iy, ix] @ pose.rotation().T
    hit = cam + ray * base.depth[iy, ix]
    assert np.linalg.norm(hit[:2] - expected[:2]) < 0.12


def test_fabric_has_no_glare():
    cloth = Material(FABRIC, (0.4, 0.3, 0.2), (0.5, 0.4, 0.3), scale=5.0, noise=0.05, seed=9)
    room, pose, _ = _floor_scene(cloth)
    intr = make_intrinsics(41, 31)
    base = RoomRenderer(room, ao_rays=0).render(pose, intr)
    glare = RoomRenderer(room, ao_rays=0, look=Look(glare=True)).render(pose, intr)
    floor = base.labels == C.FLOOR
    np.testing.assert_array_equal(glare.rgb[floor], base.rgb[floor])


def test_legible_writing_draws_lines_of_text_and_leaves_other_materials():
    from app.synth.materials import written_board

    board = written_board(np.random.default_rng(4))
    wall = solid((0.7, 0.7, 0.7))
    table = legible_writing(material_table([board, wall]))
    assert list(table["pattern"]) == [MARKER, table["pattern"][1]] and board.pattern == WRITING
    u, v = np.meshgrid(np.linspace(0, 2.0, 600), np.linspace(0, 1.2, 360))
    u, v = u.ravel().astype(np.float32), v.ravel().astype(np.float32)
    lum = albedo(table, np.zeros(u.size, np.int64), u, v).mean(axis=1)
    ink = lum < 0.6 * float(np.median(lum))
    assert 0.01 < ink.mean() < 0.3
    # text sits in the middle of its line (rows 0.6/k apart); only diagrams cross the gaps between lines
    pitch = 0.6 / board.scale
    in_row = v / pitch - np.floor(v / pitch)
    middle = (in_row > 0.2) & (in_row < 0.8)
    assert ink[middle].mean() > 3 * ink[~middle].mean()
    np.testing.assert_array_equal(
        albedo(table, np.ones(u.size, np.int64), u, v), albedo(material_table([wall]), np.zeros(u.size, np.int64), u, v)
    )


def test_cli_photo_look_same_labels_other_colour(tmp_path: Path):
    args = ["-n", "3", "--size", "36x48", "--rooms", "1", "--seed", "4", "--wall-clutter", "-q"]
    assert run_cli(["synth", str(tmp_path / "plain"), *args]) == 0
    assert run_cli(["synth", str(tmp_path / "photo"), *args, "--photo-look"]) == 0
    meta = json.loads((tmp_path / "photo" / "synth.json").read_text())
    assert meta["photo_look"] is True and "--photo-look" in meta["command"]
    assert json.loads((tmp_path / "plain" / "synth.json").read_text())["photo_look"] is False
    for name in ("000000", "000002"):
        labels = [cv2.imread(str(tmp_path / d / "Label" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
                  for d in ("plain", "photo")]
        np.testing.assert_array_equal(labels[0], labels[1])
        rgb = [cv2.imread(str(tmp_path / d / "RGB" / f"{name}.png")).astype(int) for d in ("plain", "photo")]
        assert np.abs(rgb[0] - rgb[1]).mean() > 0.5
