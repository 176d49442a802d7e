"""Demo and folder sources, and `open_source` spec handling."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import assets
from app.errors import UserError
from app.sources import BadFrame, SourceOptions, open_source, source_kind
from app.sources.demo import DemoSource, load_demo_clip
from app.sources.folder import FolderSource
from sgnet.frames import RGBDFrame


def take(source, n):
    out = []
    with source:
        for item in source:
            out.append(item)
            if len(out) == n:
                break
    return out


# --- demo ----------------------------------------------------------------------------------


def test_demo_plays_the_shipped_clip_deterministically_and_loops():
    a = take(DemoSource(SourceOptions(width=64, height=48), loop=5), 7)
    b = take(DemoSource(SourceOptions(width=64, height=48), loop=5), 7)
    assert [f.index for f in a] == list(range(7))
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa.color, fb.color)
        np.testing.assert_array_equal(fa.depth, fb.depth)
    np.testing.assert_array_equal(a[0].depth, a[5].depth)  # the clip loops after 5 frames
    assert not np.array_equal(a[0].depth, a[1].depth)  # and the camera moves
    assert a[0].intrinsics.width == 64 and a[0].depth_scale == 0.001


def test_demo_at_the_clips_size_has_its_intrinsics_and_real_rooms():
    src = DemoSource()
    clip = load_demo_clip()
    assert src.loop == len(clip) >= 100
    f = src.frame(len(clip) // 2)
    assert f.intrinsics == clip.intrinsics and f.color.shape[:2] == (240, 320)
    # RealSense-like depth: mostly valid, some holes, indoor range
    valid = f.depth > 0
    assert 0.6 < valid.mean() < 0.999
    assert 300 < np.median(f.depth[valid]) < 8000
    # several rooms, each with walls, floor and furniture in the rendered labels
    names = [assets.class_names()[i] for i in np.unique(src.ground_truth(len(clip) // 2)) if i != 255]
    assert {"wall", "floor"} <= set(names) and len(names) >= 5
    assert len(clip.meta["rooms"]) >= 3


def test_demo_resize_scales_the_intrinsics_and_keeps_labels_discrete():
    full, small = DemoSource(), DemoSource(SourceOptions(width=160, height=120))
    k, ks = full.intrinsics, small.intrinsics
    assert ks.width == 160 and abs(ks.fx - k.fx / 2) < 1e-9 and abs(ks.cx - ((k.cx + 0.5) / 2 - 0.5)) < 1e-9
    assert set(np.unique(small.ground_truth(3))) <= set(np.unique(full.ground_truth(3)))


def test_demo_ground_truth_agrees_with_depth():
    """Floor pixels back-projected with the intrinsics lie on one plane about 1-1.8 m below the
    camera (the rendered height range): depth, intrinsics and labels belong together."""
    src = DemoSource()
    floor_id = assets.class_names().index("floor")
    checked = 0
    for i in range(0, src.loop, 25):
        f, gt = src.frame(i), src.ground_truth(i)
        m = (gt == floor_id) & (f.depth > 0)
        if m.sum() < 500:
            continue
        k = f.intrinsics
        v, u = np.nonzero(m)
        z = f.depth[m] * 0.001
        pts = np.stack([(u - k.cx) / k.fx * z, (v - k.cy) / k.fy * z, z], 1)
        centre = pts.mean(0)
        normal = np.linalg.svd(pts - centre, full_matrices=False)[2][-1]
        residual = np.abs((pts - centre) @ normal)
        assert np.median(residual) < 0.03  # sensor noise is ~1 cm at 2 m
        height = abs(centre @ normal)
        assert 0.8 < height < 2.0
        checked += 1
    assert checked >= 3


def test_demo_clip_missing_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="demo clip cannot be read"):
        DemoSource(clip=tmp_path / "nope.zip")


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
