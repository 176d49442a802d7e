"""`sgnet synth` end to end at a tiny size: the NYUDv2 folder layout, the split by room,
byte-identical output per seed (also with worker processes), and one-line user errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_runner import run_cli

from app.synth.camera import make_intrinsics

SIZE = (48, 64)
ARGS = ["-n", "6", "--size", f"{SIZE[0]}x{SIZE[1]}", "--rooms", "3", "--test-fraction", "0.34", "-q"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    assert run_cli(["synth", str(out), *ARGS, "--seed", "5"]) == 0
    return out


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.png"))}


def test_folder_layout_and_file_formats(dataset: Path):
    out = dataset
    names = (out / "train.txt").read_text().split() + (out / "test.txt").read_text().split()
    assert sorted(names) == [f"{i:06d}" for i in range(6)]
    for name in names:
        rgb = cv2.imread(str(out / "RGB" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        depth = cv2.imread(str(out / "Depth" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        label = cv2.imread(str(out / "Label" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert rgb.dtype == np.uint8 and rgb.shape == (*SIZE, 3)
        assert depth.dtype == np.uint16 and depth.shape == SIZE
        assert label.dtype == np.uint8 and label.shape == SIZE
        assert label.max() <= 40 and len(np.unique(label)) >= 2
        valid = depth[depth > 0]
        assert (depth == 0).any(), "a RealSense-like depth map has holes"
        assert 200 <= np.median(valid) <= 9000, "depth is in millimetres"
    intr = json.loads((out / "intrinsics.json").read_text())
    ref = make_intrinsics(SIZE[1], SIZE[0])
    assert intr == {"width": 64, "height": 48, "fx": ref.fx, "fy": ref.fy, "cx": 31.5, "cy": 23.5}
    meta = json.loads((out / "synth.json").read_text())
    assert meta["seed"] == 5 and meta["complete"] and meta["frames"] == 6 and meta["rooms"] == 3
    assert meta["command"].startswith("sgnet synth ") and "--seed 5" in meta["command"]
    assert meta["version"] and meta["depth_scale"] == 0.001
    assert {f["name"] for f in meta["frame_info"]} == set(names)


def test_split_is_by_room(dataset: Path):
    meta = json.loads((dataset / "synth.json").read_text())
    room_of = {f["name"]: f["room"] for f in meta["frame_info"]}
    train = (dataset / "train.txt").read_text().split()
    test = (dataset / "test.txt").read_text().split()
    assert train and test
    train_rooms, test_rooms = {room_of[n] for n in train}, {room_of[n] for n in test}
    assert not train_rooms & test_rooms
    assert test_rooms == set(meta["test_rooms"]) and len(test_rooms) == 1
    # every room contributes its frames: 6 frames over 3 rooms
    assert sorted(list(room_of.values()).count(r) for r in range(3)) == [2, 2, 2]


def test_same_seed_gives_identical_files_other_seed_differs(dataset: Path, tmp_path: Path):
    again = tmp_path / "again"
    assert run_cli(["synth", str(again), *ARGS, "--seed", "5"]) == 0
    assert _files(again) == _files(dataset)
    other = tmp_path / "other"
    assert run_cli(["synth", str(other), *ARGS, "--seed", "6"]) == 0
    assert _files(other).keys() == _files(dataset).keys()
    assert _files(other) != _files(dataset)


def test_worker_processes_give_the_same_files(dataset: Path, tmp_path: Path):
    par = tmp_path / "par"
    assert run_cli(["synth", str(par), *ARGS, "--seed", "5", "--workers", "2"]) == 0
    assert _files(par) == _files(dataset)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--size", "48by64"], "--size must be HEIGHTxWIDTH"),
        (["--size", "8x64"], "out of range"),
        (["--rooms", "9"], "--rooms must be between 1 and --frames"),
        (["--test-fraction", "1.0"], "--test-fraction"),
        (["--recording", "out.bag"], ".db3"),
        (["--room-types", "bedroom,garage"], "unknown garage"),
        (["--close-ups", "1.5"], "--close-ups must be a share between 0 and 1"),
        (["--level-views", "-0.1"], "--level-views must be a share between 0 and 1"),
        (["--wall-views", "1.2"], "--wall-views must be a share between 0 and 1"),
        (["--props", "--props-density", "0.5"], "--props-density must be between 1 and 3"),
        (["--props-density", "2"], "--props-density needs --props"),
    ],
)
def test_bad_options_give_one_line_errors(tmp_path: Path, capsys, extra, message):
    code = run_cli(["synth", str(tmp_path / "d"), "-n", "4", "-q", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_existing_dataset_and_unusable_out(dataset: Path, tmp_path: Path, capsys):
    assert run_cli(["synth", str(dataset), *ARGS]) == 2
    assert "--overwrite" in capsys.readouterr().err
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert run_cli(["synth", str(a_file), *ARGS]) == 2
    assert "not a folder" in capsys.readouterr().err
    # a path that can never become a folder: its parent is a file
    assert run_cli(["synth", str(a_file / "d"), *ARGS]) == 2
    err = capsys.readouterr().err
    assert "cannot" in err and len(err.strip().splitlines()) == 1


def test_montage_sheet(tmp_path: Path):
    out, sheet = tmp_path / "d", tmp_path / "sheet.png"
    assert (
        run_cli(["synth", str(out), "-n", "2", "--size", "32x48", "--rooms", "2", "-q", "--montage", str(sheet)]) == 0
    )
    img = cv2.imread(str(sheet), cv2.IMREAD_COLOR)
    assert img.shape[0] == 2 * 32 + 2 and img.shape[1] == 3 * 48 + 4


def test_cli_glazing_is_recorded_and_restyles_the_same_offices(tmp_path: Path):
    """--glazing reaches the renderer and synth.json; without it the seed renders as before."""
    args = ["-n", "6", "--size", "36x48", "--rooms", "3", "--seed", "5", "--room-types", "office", "-q"]
    assert run_cli(["synth", str(tmp_path / "plain"), *args]) == 0
    assert run_cli(["synth", str(tmp_path / "glazed"), *args, "--glazing"]) == 0
    meta = json.loads((tmp_path / "glazed" / "synth.json").read_text())
    assert meta["glazing"] is True and "--glazing" in meta["command"]
    assert json.loads((tmp_path / "plain" / "synth.json").read_text())["glazing"] is False
    names = sorted(p.name for p in (tmp_path / "plain" / "RGB").iterdir())
    changed = [
        np.abs(cv2.imread(str(tmp_path / "plain" / "RGB" / n)).astype(int)
               - cv2.imread(str(tmp_path / "glazed" / "RGB" / n)).astype(int)).mean() > 0.5
        for n in names
    ]
    assert any(changed)
