"""NYUDv2 folders as they are found in the wild: RGB .jpg, Depth .npy (float metres or uint16),
palette label PNGs, Label13/ (NYUv2-13); `sgnet eval` reads them end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import run_cli
from data_layouts import H, W, depth_mm, label_ids, write_nyu

import assets
import sgnet
from app.sinks.png import write_indexed_png
from sgnet.data import detect_layout, open_dataset

WEIGHTS = ["-m", "sgnet_lite", "-w", "assets/sgnet_lite_synth.safetensors", "--device", "cpu"]


def test_jpg_npy_metres_and_palette_labels(tmp_path):
    """Issue 19: "1 file(s) listed but missing …/Depth/0.png" for .npy depth, and palette labels
    refused as 3-channel images."""
    root = write_nyu(tmp_path / "d", rgb_ext=".jpg", depth="npy-m", label="palette")
    ds = open_dataset(root)
    assert ds.layout == "nyudv2-folder" and ds.label_classes == "nyu40" and ds.has_labels
    assert ds.names == ["1", "2"] and ds.files[0].depth.name == "1.npy"
    s = ds[1]
    np.testing.assert_array_equal(s.frame.depth, depth_mm(2))  # metres -> mm units at 0.001
    assert s.frame.depth_scale == 0.001 and s.frame.color.shape == (H, W, 3)
    want = label_ids(2).astype(int) - 1
    want[want < 0] = 255
    np.testing.assert_array_equal(s.label, want)
    np.testing.assert_array_equal(ds.read_label(1), want)


def test_uint16_npy_is_raw_units(tmp_path):
    root = write_nyu(tmp_path / "d", depth="npy-u16")
    np.testing.assert_array_equal(open_dataset(root, depth_scale=0.0005)[0].frame.depth, depth_mm(1))


def test_label13_folder_is_nyu13(tmp_path):
    root = write_nyu(tmp_path / "d", label_dir="Label13")
    ds = open_dataset(root)
    assert ds.label_classes == "nyu13"
    raw = label_ids(1, 13)
    assert set(np.unique(raw)) == {1, 2, 3, 4, 5, 6}
    np.testing.assert_array_equal(ds[0].label, raw - 1)  # 1..13 -> 0..12


def test_label_wins_over_label13_and_lists_may_name_label13(tmp_path):
    root = write_nyu(tmp_path / "d", label_dir="Label13")
    write_nyu(root, label_dir="Label", test=())
    assert open_dataset(root).label_classes == "nyu40"
    (root / "test.txt").write_text("RGB/1.jpg\tLabel13/1.png\n")
    assert open_dataset(root).label_classes == "nyu13"
    (root / "test.txt").write_text("RGB/1.jpg\tLabel13/1.png\nRGB/2.jpg Label/2.png\n")
    with pytest.raises(sgnet.DatasetError, match="Label13/ .* and in other folders"):
        open_dataset(root)


def test_the_apps_labels_png_screenshot_reads_as_a_label(tmp_path):
    """The project's own indexed screenshot (app.sinks.png) failed as "3 channels"."""
    root = write_nyu(tmp_path / "d", label=None, test=("0",))
    ids = (np.arange(H * W).reshape(H, W) % 40).astype(np.uint8)  # 0-based prediction ids
    (root / "Label").mkdir()
    write_indexed_png(root / "Label" / "0.png", ids, assets.palette())  # as app/sinks/screenshots.py does
    np.testing.assert_array_equal(open_dataset(root, label_format="zero-based")[0].label, ids)


def test_no_label_folder_is_said_when_labels_are_needed(tmp_path):
    root = write_nyu(tmp_path / "d", label=None)
    ds = open_dataset(root)
    assert not ds.has_labels and len(ds.read_frame(0).depth) == H
    with pytest.raises(sgnet.DatasetError, match="no labels to score against: .* has no Label/ or Label13/ folder"):
        open_dataset(root, need_labels=True)


def test_detection_of_nyudv2(tmp_path):
    root = write_nyu(tmp_path / "d")
    assert detect_layout(root) == "nyudv2" and detect_layout(root / "test.txt") == "nyudv2"
    (tmp_path / "empty").mkdir()
    assert detect_layout(tmp_path / "empty") is None
    with pytest.raises(sgnet.DatasetError, match="holds no dataset layout this reader knows: expected NYUDv2"):
        open_dataset(tmp_path / "empty")


def test_eval_cli_on_npy_and_palette_folder(tmp_path, capsys):
    root = write_nyu(tmp_path / "d", depth="npy-m", label="palette", size=(64, 36))  # 16:9, no intrinsics
    out = tmp_path / "r.json"
    assert run_cli(["eval", str(root), *WEIGHTS, "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["images"] == 2 and res["layout"] == "nyudv2-folder"
    captured = capsys.readouterr()
    assert "mIoU" in captured.out
    notes = [ln for ln in captured.err.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and "64x36 frames, which are not 4:3: guessing square pixels" in notes[0]
