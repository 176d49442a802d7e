"""ScanNet exported frames: colour (twice the depth's size here, as 1296x968 against 640x480)
brought to the depth's size, raw label ids mapped to NYU40 through a real
scannetv2-labels.combined.tsv found above the scene, depth intrinsics, scene split lists."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import run_cli
from data_layouts import (
    SCANNET_DEPTH_K,
    TSV_ROWS,
    H,
    W,
    color_image,
    depth_mm,
    scannet_raw_label,
    write_scannet_scene,
    write_tsv,
)

import sgnet
from app.sources import BadFrame, SourceOptions, open_source
from sgnet.data import detect_layout, open_dataset
from sgnet.data.scannet import read_tsv


@pytest.fixture
def scans(tmp_path):
    write_tsv(tmp_path / "scannetv2-labels.combined.tsv")  # in a parent of the scenes, as in the release
    root = tmp_path / "scans"
    write_scannet_scene(root / "scene0000_00")
    write_scannet_scene(root / "scene0011_01", frames=(0, 5))
    return root


def expected_label(i: int) -> np.ndarray:
    """The raw ids at the depth's size (nearest: every other pixel), through the tsv, 0-based."""
    raw = scannet_raw_label(i)[::2, ::2]
    nyu = {0: 0, **{r[0]: (r[2] or 0) for r in TSV_ROWS}}
    lab = np.vectorize(lambda v: nyu[int(v)])(raw) - 1
    lab[lab < 0] = 255
    return lab.astype(np.uint8)


def test_tsv_mapping(tmp_path):
    lut = read_tsv(write_tsv(tmp_path / "m.tsv"))
    assert (lut[1], lut[2], lut[22], lut[1163], lut[777], lut[5]) == (1, 5, 22, 40, 0, 0)
    (tmp_path / "bad.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(sgnet.DatasetError, match="expected columns id and nyu40id, found a, b"):
        read_tsv(tmp_path / "bad.tsv")


def test_one_scene(scans):
    scene = scans / "scene0000_00"
    assert detect_layout(scene) == "scannet" and detect_layout(scans) == "scannet"
    ds = open_dataset(scene, split="test")  # a scene has no splits
    assert ds.layout == "scannet" and ds.label_classes == "nyu40" and ds.names == ["0", "1", "2"]
    s = ds[1]
    assert s.frame.color.shape == (H, W, 3) and s.frame.depth.shape == (H, W)
    np.testing.assert_array_equal(s.frame.depth, depth_mm(1))
    big = color_image(1, (2 * W, 2 * H)).astype(float)
    area = big.reshape(H, 2, W, 2, 3).mean((1, 3))
    assert np.abs(s.frame.color.astype(float) - area).max() <= 3  # area-averaged (JPEG aside)
    np.testing.assert_array_equal(s.label, expected_label(1))
    assert set(np.unique(s.label)) == {0, 4, 21, 39, 255}
    k = s.frame.intrinsics
    assert (k.width, k.height, k.fx, k.fy, k.cx, k.cy) == (W, H, *SCANNET_DEPTH_K)
    assert s.frame.depth_scale == 0.001


def test_scenes_and_official_split_files(scans):
    ds = open_dataset(scans, split="all")
    assert ds.names == ["scene0000_00/0", "scene0000_00/1", "scene0000_00/2", "scene0011_01/0", "scene0011_01/5"]
    with pytest.raises(sgnet.DatasetError, match=r"no val.txt or scannetv2_val.txt in .*'all' is every scene"):
        open_dataset(scans, split="val")
    (scans / "scannetv2_val.txt").write_text("scene0011_01\n")
    assert open_dataset(scans, split="val").names == ["scene0011_01/0", "scene0011_01/5"]


def test_frames_without_labels_are_left_out_with_a_note(scans):
    (scans / "scene0000_00" / "label-filt" / "1.png").unlink()
    notes: list[str] = []
    ds = open_dataset(scans / "scene0000_00", on_note=notes.append)
    assert ds.names == ["0", "2"] and notes == ["scene0000_00: 1 frame(s) without a label-filt/ file are left out"]


def test_missing_tsv(tmp_path):
    scene = write_scannet_scene(tmp_path / "scene0000_00")
    ds = open_dataset(scene)  # frames still read (sgnet-live)
    assert not ds.has_labels and ds.read_frame(0).depth.shape == (H, W)
    with pytest.raises(sgnet.DatasetError, match="no labels to score against: .*scannetv2-labels.combined.tsv"):
        open_dataset(scene, need_labels=True)
    with pytest.raises(sgnet.DatasetError, match="scannetv2-labels.combined.tsv"):
        ds.read_label(0)
    tsv = write_tsv(tmp_path / "elsewhere.tsv")
    assert open_dataset(scene, label_map=tsv, need_labels=True).has_labels


def test_eval_cli(scans, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = run_cli(["eval", str(scans / "scene0000_00"), "-m", "sgnet_lite", "-w",
                    "assets/sgnet_lite_synth.safetensors", "--device", "cpu", "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    res = json.loads(out.read_text())
    assert res["layout"] == "scannet" and res["images"] == 3


def test_live_folder_source_reads_it(scans):
    (scans / "scene0000_00" / "depth" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    src = open_source(str(scans / "scene0000_00"), SourceOptions())
    assert src.info.width == W and src.info.height == H and "ScanNet" in src.info.description
    with src:
        items = list(src)
    assert items[0].intrinsics.fx == SCANNET_DEPTH_K[0] and items[0].color.shape == (H, W, 3)
    assert isinstance(items[1], BadFrame) and items[1].reason == "depth/1.png is truncated or corrupt (cannot decode)"
