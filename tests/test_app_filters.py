"""The depth filter options do what they say on every source: demo and folder frames go through
librealsense's own processing blocks on a software device (before, the options were accepted
and silently did nothing there)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from test_app_cli import LIVE, run

from app.sources import BadFrame, FilterOptions, SourceOptions
from app.sources.demo import DemoSource
from app.sources.depth_filters import SoftwareFilters
from app.sources.folder import FolderSource
from sgnet.frames import Intrinsics, RGBDFrame

W, H = 64, 48
K = Intrinsics(W, H, 50.0, 50.0, 31.5, 23.5)


def ramp_mm() -> np.ndarray:
    """1.0 m at the left edge to 3.5 m at the right, every pixel its own value, a 4x4 hole."""
    y, x = np.mgrid[0:H, 0:W]
    d = (1000 + 40 * x + y).astype(np.uint16)
    d[20:24, 20:24] = 0
    return d


def color() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    return np.stack([x * 4, y * 5, np.full_like(x, 7)], -1).astype(np.uint8)


def folder(tmp_path, n: int = 2):
    root = tmp_path / f"f{len(list(tmp_path.iterdir()))}"
    (root / "RGB").mkdir(parents=True)
    (root / "Depth").mkdir()
    for i in range(n):
        cv2.imwrite(str(root / "RGB" / f"{i:04d}.png"), color()[:, :, ::-1])
        cv2.imwrite(str(root / "Depth" / f"{i:04d}.png"), ramp_mm())
    (root / "intrinsics.json").write_text(json.dumps({"width": W, "height": H, "fx": 50.0, "fy": 50.0,
                                                      "cx": 31.5, "cy": 23.5}))
    return root


def read(tmp_path, **filters) -> RGBDFrame:
    src = FolderSource(folder(tmp_path), SourceOptions(filters=FilterOptions(**filters)))
    with src:
        frame = next(iter(src))
    assert isinstance(frame, RGBDFrame), frame
    return frame


def test_threshold_zeroes_far_depth_of_a_folder(tmp_path):
    frame = read(tmp_path, max_distance_m=2.0)
    metres = ramp_mm() * 0.001
    assert (frame.depth[metres > 2.0] == 0).all()  # beyond --max-distance: no depth
    near = (metres > 0) & (metres < 1.99)
    assert (frame.depth[near] == ramp_mm()[near]).all()  # the rest untouched
    assert (frame.color == color()).all() and frame.intrinsics == K


def test_min_distance_honours_the_depth_units(tmp_path):
    """The threshold is in metres whatever the units: 0.5 mm units (--depth-scale 0.0005)."""
    src = FolderSource(folder(tmp_path), SourceOptions(depth_scale=0.0005,
                                                       filters=FilterOptions(min_distance_m=0.75)))
    frame = src.read(0)
    metres = ramp_mm() * 0.0005  # 0.5 to 1.75 m
    assert (frame.depth[metres < 0.74] == 0).all() and (frame.depth[metres > 0.76] > 0).all()


def test_decimation_keeps_size_colour_and_intrinsics_as_the_realsense_path_does(tmp_path):
    """Decimation 2 halves the depth; it is aligned back onto the colour camera (rs.align), so the
    frame keeps its size and intrinsics and its depth comes in 2x2 blocks."""
    frame = read(tmp_path, decimation=2)
    d = frame.depth
    assert d.shape == (H, W) and frame.intrinsics == K and (frame.color == color()).all()
    assert blocky(d) and not blocky(ramp_mm())  # one value per 2x2 block: half the resolution
    raw = ramp_mm().reshape(H // 2, 2, W // 2, 2)
    block = d.reshape(H // 2, 2, W // 2, 2)[5, 0, 7, 0]
    assert raw[5, :, 7, :].min() <= block <= raw[5, :, 7, :].max()  # each block's value comes from the block


def blocky(d: np.ndarray) -> bool:
    """Whether `d` is constant in 2x2 blocks, away from the hole (whose rim rs.align redraws)."""
    blocks = d.reshape(H // 2, 2, W // 2, 2)
    differs = np.argwhere(blocks != blocks[:, :1, :, :1])
    return all(8 <= by <= 13 and 8 <= bx <= 13 for by, _, bx, _ in differs)


def test_decimation_of_an_odd_factor(tmp_path):
    frame = read(tmp_path, decimation=3)
    assert frame.depth.shape == (H, W) and (frame.depth > 0).mean() > 0.8


def test_hole_filling_fills_the_hole(tmp_path):
    assert (read(tmp_path).depth[20:24, 20:24] == 0).all()
    assert (read(tmp_path, hole_filling=True).depth[20:24, 20:24] > 0).all()


@pytest.mark.parametrize("opt", ["spatial", "temporal"])
def test_spatial_and_temporal_run(tmp_path, opt):
    src = FolderSource(folder(tmp_path, 3), SourceOptions(filters=FilterOptions(**{opt: True})))
    with src:
        frames = list(src)
    assert all(isinstance(f, RGBDFrame) and f.depth.shape == (H, W) for f in frames)
    if opt == "spatial":  # the edge-preserving smoothing (in disparity) changes values
        assert (frames[0].depth != ramp_mm()).any()


def test_temporal_filter_keeps_state_between_frames():
    """A pixel missing in one frame is filled from the frames before it (persistence)."""
    filt = SoftwareFilters(FilterOptions(temporal=True))
    full = ramp_mm()
    holed = full.copy()
    holed[5:10, 40:50] = 0
    out = None
    for i, d in enumerate([full, full, full, holed]):
        out = filt.apply(RGBDFrame(color(), d, 0.001, K, i))
    assert (out.depth[5:10, 40:50] > 0).all()
    filt.close()


def test_demo_frames_are_filtered():
    plain = DemoSource(SourceOptions(), loop=2).frame(0)
    assert (plain.depth_m() > 2.0).any()
    cut = DemoSource(SourceOptions(filters=FilterOptions(max_distance_m=2.0)), loop=2).frame(0)
    assert not (cut.depth_m() > 2.0).any() and (cut.depth > 0).any()


def test_no_filters_no_software_device(tmp_path):
    src = FolderSource(folder(tmp_path), SourceOptions())
    assert src._software_filters is None and (src.read(0).depth == ramp_mm()).all()


def test_bad_frames_pass_through(tmp_path):
    src = FolderSource(folder(tmp_path), SourceOptions(filters=FilterOptions(decimation=2)))
    bad = BadFrame(3, "Depth/0003.png: no such file")
    assert src.filtered(bad) is bad


def test_a_frame_librealsense_cannot_filter_is_a_bad_frame_with_its_reason(tmp_path, monkeypatch):
    def fail(self, frame):
        raise RuntimeError("Unsupported format")

    monkeypatch.setattr(SoftwareFilters, "_filtered_depth", fail)
    item = FolderSource(folder(tmp_path), SourceOptions(filters=FilterOptions(spatial=True))).read(1)
    assert isinstance(item, BadFrame) and item.index == 1
    assert item.reason == "depth filters failed: Unsupported format" and item.kind == "depth filters failed"


def test_cli_folder_with_decimation_and_max_distance_writes_filtered_depth(tmp_path):
    """The real command: the screenshot bundle's depth.png is the filtered depth."""
    shots = tmp_path / "shots"
    r = run(LIVE, ["--camera", folder(tmp_path), "--headless", "--device", "cpu", "--decimation", 2,
                   "--max-distance", 2, "--screenshot-dir", shots, "--screenshot-every", 1])
    assert r.returncode == 0, r.stderr
    depth = cv2.imread(str(shots / "frame_000000" / "depth.png"), cv2.IMREAD_UNCHANGED)
    assert depth.shape == (H, W) and depth.dtype == np.uint16
    assert depth.max() <= 2000 and (depth == 0).mean() > 0.3  # the far half is cut
    assert blocky(depth)
