"""SUN RGB-D: nested image folders found under a root, bit-rotated depth un-rotated (depth_bfx
preferred), each folder's 1-based intrinsics.txt, 37-class labels; `sgnet eval` and
`sgnet-live --camera DIR` read it."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from cli_runner import run_cli
from data_layouts import SUN_K, H, W, depth_mm, label_ids, rotate_sun, write_sun_folder

import sgnet
from app.sources import BadFrame, SourceOptions, open_source
from sgnet.data import detect_layout, open_dataset
from sgnet.data.sunrgbd import unrotate


@pytest.fixture
def sun(tmp_path):
    root = tmp_path / "SUNRGBD"
    write_sun_folder(root / "kv1" / "NYUdata" / "NYU0001", 0)
    write_sun_folder(root / "kv1" / "NYUdata" / "NYU0002", 1)
    write_sun_folder(root / "kv2" / "kinect2data" / "000002_2014-05-26", 2, depth_dir="depth")
    write_sun_folder(root / "xtion" / "sun3ddata" / "mit_32" / "a" / "0000103", 3)
    return root


def test_unrotate_is_the_toolbox_formula():
    mm = np.array([0, 1, 1000, 4000, 8191, 65535], np.uint16)
    raw = rotate_sun(mm)
    np.testing.assert_array_equal(unrotate(raw), mm)
    r = raw.astype(np.uint32)
    np.testing.assert_array_equal(unrotate(raw), ((r >> 3) | (r << 13)) & 0xFFFF)  # read3dPoints
    assert unrotate(np.array([8000], np.uint16))[0] == 1000


def test_tree_is_found_and_read(sun):
    assert detect_layout(sun) == "sunrgbd"
    ds = open_dataset(sun, split="all")
    assert ds.layout == "sunrgbd" and ds.label_classes == "sunrgbd37" and ds.has_labels
    assert ds.names == ["kv1/NYUdata/NYU0001", "kv1/NYUdata/NYU0002", "kv2/kinect2data/000002_2014-05-26",
                        "xtion/sun3ddata/mit_32/a/0000103"]
    s = ds[1]
    np.testing.assert_array_equal(s.frame.depth, depth_mm(1))  # not the rotated raw values (8x too far)
    assert s.frame.depth_scale == 0.001
    fx, fy, cx, cy = SUN_K
    k = s.frame.intrinsics
    assert (k.fx, k.fy, k.cx, k.cy) == (fx, fy, cx - 1, cy - 1) and (k.width, k.height) == (W, H)
    np.testing.assert_array_equal(s.label, label_ids(1, 37) - 1)  # 1..37 -> 0..36 (no 0 in this band)
    assert ds.files[0].depth.parent.name == "depth_bfx" and ds.files[2].depth.parent.name == "depth"


def test_default_split_needs_a_list(sun):
    with pytest.raises(sgnet.DatasetError, match=r"no test.txt in .*'all' is every image folder under it"):
        open_dataset(sun, split="test")
    (sun / "test.txt").write_text(
        "/n/fs/sun3d/data/SUNRGBD/kv2/kinect2data/000002_2014-05-26\nkv1/NYUdata/NYU0002/\n")
    assert open_dataset(sun, split="test").names == ["kv2/kinect2data/000002_2014-05-26", "kv1/NYUdata/NYU0002"]
    (sun / "test.txt").write_text("kv1/NYUdata/NYU9999\n")
    with pytest.raises(sgnet.DatasetError, match="lists kv1/NYUdata/NYU9999, which is not a SUN RGB-D image folder"):
        open_dataset(sun, split="test")


def test_one_image_folder_and_missing_labels(sun):
    one = sun / "kv1" / "NYUdata" / "NYU0001"
    ds = open_dataset(one, split="test")  # a single folder has no splits
    assert len(ds) == 1 and ds.names == ["NYU0001"]
    bare = write_sun_folder(sun.parent / "bare" / "x", 4, label_dir=None)
    ds = open_dataset(bare)
    assert not ds.has_labels and ds.read_frame(0).depth[0, 0] == depth_mm(4)[0, 0]
    with pytest.raises(sgnet.DatasetError, match="no labels to score against: .*label37/ or label/ PNG"):
        open_dataset(bare, need_labels=True)


def test_eval_cli(sun, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = run_cli(["eval", str(sun), "--split", "all", "-m", "sgnet_lite", "-w", "assets/sgnet_lite_synth.safetensors",
                    "--device", "cpu", "--json", str(out), "--classes", "sunrgbd37"])  # NYU40 model, 37-class labels
    assert code == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["layout"] == "sunrgbd"


def test_live_folder_source_reads_it(sun):
    one = sun / "kv1"
    cv2.imwrite(str(one / "NYUdata" / "NYU0002" / "depth_bfx" / "NYU0002.png"), np.zeros((H, W), np.uint8))
    src = open_source(str(one), SourceOptions())
    assert "SUN RGB-D" in src.info.description and src.info.num_frames == 2
    with src:
        items = list(src)
    assert np.array_equal(items[0].depth, depth_mm(0)) and items[0].depth_scale == 0.001
    assert isinstance(items[1], BadFrame)
    assert items[1].reason.startswith("NYUdata/NYU0002/depth_bfx/NYU0002.png is 8-bit; depth must be 16-bit")
