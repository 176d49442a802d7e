"""Demo and folder sources, and `open_source` spec handling."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.frames import RGBDFrame
from app.sources import BadFrame, SourceOptions, open_source, source_kind
from app.sources.demo import CEILING, FLOOR, ROOM_HI, ROOM_LO, WALL, DemoScene, DemoSource, camera_pose
from app.sources.folder import FolderSource


def take(source, n):
    out = []
    with source:
        for item in source:
            out.append(item)
            if len(out) == n:
                break
    return out


# --- demo ----------------------------------------------------------------------------------


def test_demo_is_deterministic_and_loops():
    a = take(DemoSource(SourceOptions(width=64, height=48), loop=5), 7)
    b = take(DemoSource(SourceOptions(width=64, height=48), loop=5), 7)
    assert [f.index for f in a] == list(range(7))
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa.color, fb.color)
        np.testing.assert_array_equal(fa.depth, fb.depth)
    np.testing.assert_array_equal(a[0].depth, a[5].depth)  # the path loops every 5 frames
    assert not np.array_equal(a[0].depth, a[1].depth)  # and the camera moves
    assert a[0].intrinsics.width == 64 and a[0].depth_scale == 0.001


@pytest.mark.parametrize("i", [0, 37, 81, 120])
def test_demo_depth_agrees_with_the_room_geometry(i):
    """Back-projecting the depth with the frame's intrinsics and the camera pose puts floor
    pixels on y = 0, ceiling pixels on the ceiling and wall pixels on a wall (within 1 cm)."""
    scene = DemoScene(80, 60)
    img = scene.render(i)
    k = scene.intrinsics
    z = img.depth.astype(np.float64) * 0.001
    v, u = np.mgrid[0:60, 0:80]
    cam = np.stack([(u - k.cx) / k.fx * z, (v - k.cy) / k.fy * z, z])
    pos, rot = camera_pose((i % scene.loop) / scene.loop)
    world = np.einsum("ij,jhw->ihw", rot.astype(np.float64), cam) + pos[:, None, None]
    floor, ceiling, wall = img.labels == FLOOR, img.labels == CEILING, img.labels == WALL
    assert floor.sum() > 100 and wall.sum() > 100
    assert np.abs(world[1][floor]).max() < 0.01
    if ceiling.any():
        assert np.abs(world[1][ceiling] - ROOM_HI[1]).max() < 0.01
    to_wall = np.minimum.reduce([
        np.abs(world[0] - ROOM_LO[0]), np.abs(world[0] - ROOM_HI[0]),
        np.abs(world[2] - ROOM_LO[2]), np.abs(world[2] - ROOM_HI[2]),
    ])
    assert to_wall[wall].max() < 0.01
    # furniture sits in front of the room's surfaces: nearer than the farthest wall pixel
    furniture = ~(floor | ceiling | wall)
    assert furniture.any() and z[furniture].max() < z[wall].max()


def test_demo_color_follows_the_labels():
    img = DemoScene(80, 60).render(10)
    for lab in np.unique(img.labels):
        mean = img.color[img.labels == lab].mean(axis=0)
        others = img.color[img.labels != lab].mean(axis=0)
        assert np.abs(mean - others).max() > 5  # each surface has its own look


def test_demo_caches_frames_of_the_loop():
    src = DemoSource(SourceOptions(width=32, height=24), loop=4)
    first = take(src, 4)
    second = take(src, 8)[4:]
    for f1, f2 in zip(first, second, strict=True):
        assert f1.depth.base is f2.depth.base or np.shares_memory(f1.depth, f2.depth)


def test_demo_realtime_is_live():
    assert DemoSource(SourceOptions(realtime=True)).info.live
    assert not DemoSource().info.live


# --- folders -------------------------------------------------------------------------------


def _write_pair(color_path, depth_path, i, size=(40, 30)):
    w, h = size
    color = np.full((h, w, 3), (10 * i, 100, 200), np.uint8)
    depth = np.full((h, w), 1000 + i, np.uint16)
    cv2.imwrite(str(color_path), color[:, :, ::-1])
    cv2.imwrite(str(depth_path), depth)
    return color, depth


def test_nyu_layout_with_intrinsics_json(tmp_path):
    (tmp_path / "RGB").mkdir()
    (tmp_path / "Depth").mkdir()
    for i in (1, 2, 10):  # natural order: 1, 2, 10
        _write_pair(tmp_path / "RGB" / f"{i}.png", tmp_path / "Depth" / f"{i}.png", i)
    (tmp_path / "intrinsics.json").write_text(json.dumps(dict(width=40, height=30, fx=30, fy=31, cx=19.5, cy=14.5)))
    src = open_source(str(tmp_path), SourceOptions(depth_scale=0.0002))
    assert isinstance(src, FolderSource) and src.notes == [] and src.info.num_frames == 3
    frames = take(src, 10)
    assert [int(f.depth[0, 0]) for f in frames] == [1001, 1002, 1010]
    assert frames[2].color[0, 0].tolist() == [100, 100, 200]  # RGB order
    assert frames[0].intrinsics.fy == 31 and frames[0].depth_scale == 0.0002


def test_pairs_layout_defaults_to_nyu_intrinsics_with_a_note(tmp_path):
    for i in range(2):
        _write_pair(tmp_path / f"f{i}_color.png", tmp_path / f"f{i}_depth.png", i, size=(320, 240))
    src = open_source(str(tmp_path))
    assert len(src.notes) == 1 and "NYUv2" in src.notes[0] and "320x240" in src.notes[0]
    f = take(src, 5)[0]
    assert f.intrinsics.width == 320 and f.intrinsics.fx == pytest.approx(518.8579 / 2, rel=1e-4)
    assert f.depth_scale == 0.001


def test_bad_pairs_after_the_first_are_bad_frames(tmp_path):
    _write_pair(tmp_path / "a_color.png", tmp_path / "a_depth.png", 0)
    _write_pair(tmp_path / "b_color.png", tmp_path / "b_depth.png", 1, size=(20, 10))  # wrong size
    _write_pair(tmp_path / "c_color.png", tmp_path / "c_depth.png", 2)
    (tmp_path / "c_depth.png").write_bytes(b"not a png")  # unreadable
    np.save(tmp_path / "d_depth.npy", np.full((30, 40), np.nan, np.float32))
    cv2.imwrite(str(tmp_path / "d_color.png"), np.zeros((30, 40, 3), np.uint8))
    np.save(tmp_path / "e_depth.npy", np.full((30, 40), 1.5, np.float32))  # metres
    cv2.imwrite(str(tmp_path / "e_color.png"), np.zeros((30, 40, 3), np.uint8))
    items = take(open_source(str(tmp_path)), 10)
    kinds = [type(x).__name__ for x in items]
    assert kinds == ["RGBDFrame", "BadFrame", "BadFrame", "BadFrame", "RGBDFrame"]
    assert "differ" in items[1].reason and "cannot decode" in items[2].reason and "NaN" in items[3].reason
    assert isinstance(items[4], RGBDFrame) and items[4].depth[0, 0] == 1500


def _junk_pair(p):
    (p / "x_color.png").write_bytes(b"junk")
    (p / "x_depth.png").write_bytes(b"junk")


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "no frames in"),
    (_junk_pair, "cannot decode"),
    (lambda p: _write_pair(p / "x_color.png", p / "x_depth.jpg", 0), "no frames in"),  # depth must be png/npy
])
def test_unusable_folders_fail_at_once(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(UserError, match=message):
        open_source(str(tmp_path))


def test_8bit_depth_folder_is_rejected(tmp_path):
    cv2.imwrite(str(tmp_path / "x_color.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "x_depth.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(UserError, match="16-bit"):
        open_source(str(tmp_path))


def test_bad_intrinsics_json(tmp_path):
    _write_pair(tmp_path / "x_color.png", tmp_path / "x_depth.png", 0)
    (tmp_path / "intrinsics.json").write_text('{"fx": 1}')
    with pytest.raises(UserError, match="intrinsics.json"):
        open_source(str(tmp_path))


# --- specs ---------------------------------------------------------------------------------


def test_source_kinds(tmp_path):
    (tmp_path / "f.db3").write_bytes(b"x")
    assert source_kind("demo") == "demo"
    assert source_kind("realsense") == source_kind("realsense:123") == "realsense"
    assert source_kind(str(tmp_path)) == "folder"
    assert source_kind(str(tmp_path / "f.db3")) == "recording"
    with pytest.raises(UserError, match="no such file or folder"):
        source_kind(str(tmp_path / "missing.bag"))


def test_realsense_without_camera_says_so():
    import pyrealsense2 as rs

    if len(rs.context().query_devices()):
        pytest.skip("a RealSense camera is connected")
    with pytest.raises(UserError, match="no Intel RealSense camera found.*--camera demo"):
        open_source("realsense")


def test_iterating_before_enter_is_an_error():
    with pytest.raises(RuntimeError, match="with source"):
        iter(DemoSource())


def test_bad_frame_is_not_a_frame():
    b = BadFrame(3, "why")
    assert not isinstance(b, RGBDFrame) and b.index == 3
