"""Intrinsics are never stretched unevenly: frames that are not 4:3 and have none get square
pixels (and a note), intrinsics of another aspect ratio are an error for datasets and a warning
plus square pixels for the live folder source."""

from __future__ import annotations

import numpy as np
import pytest
from cli_runner import run_cli
from data_layouts import write_intrinsics_json, write_nyu

import sgnet
from app.sources import SourceOptions, open_source
from app.sources.folder import read_intrinsics
from sgnet.data import fit_intrinsics, nyu_intrinsics, open_dataset
from sgnet.data.intrinsics import read_camera_matrix

NYU_FX = 518.8579011745019


def test_nyu_camera_is_not_stretched_to_16_9():
    """Issue 19: 1280x720 without intrinsics gave fx 1037.7, fy 779.2."""
    k = nyu_intrinsics(1280, 720)
    assert k.fx == k.fy == pytest.approx(NYU_FX * 2)
    assert (k.cx, k.cy) == (639.5, 359.5)
    half = nyu_intrinsics(320, 240)  # 4:3 stays the NYU camera, resized
    assert half.fx == pytest.approx(NYU_FX / 2) and half.fy != half.fx


def test_fit_intrinsics_cases():
    given = nyu_intrinsics()
    assert fit_intrinsics(given, 640, 480) == (given, None)
    k, note = fit_intrinsics(given, 320, 240, what="intrinsics.json")
    assert k.fx == pytest.approx(NYU_FX / 2) and "scaled to the frames' 320x240" in note
    with pytest.raises(sgnet.DatasetError, match="is for 640x480 but the frames are 512x424, another aspect ratio"):
        fit_intrinsics(given, 512, 424)
    k, note = fit_intrinsics(given, 512, 424, what="intrinsics.json", strict=False)
    assert k.fx == k.fy == pytest.approx(NYU_FX * 512 / 640) and note.startswith("warning: intrinsics.json")
    assert "not stretched" in note


def test_dataset_without_intrinsics_on_16_9_frames_guesses_square_pixels(tmp_path):
    root = write_nyu(tmp_path / "d", size=(64, 36))
    notes: list[str] = []
    k = open_dataset(root, on_note=notes.append)[0].frame.intrinsics
    assert k.fx == k.fy == pytest.approx(NYU_FX * 64 / 640) and (k.cx, k.cy) == (31.5, 17.5)
    assert len(notes) == 1 and "not 4:3: guessing square pixels" in notes[0]


def test_dataset_intrinsics_of_another_aspect_is_an_error(tmp_path, capsys):
    root = write_nyu(tmp_path / "d", size=(32, 28))  # 512x424-like
    write_intrinsics_json(root, 640, 480)
    with pytest.raises(sgnet.DatasetError, match=r"intrinsics.json is for 640x480 but the frames are 32x28"):
        open_dataset(root)[0]
    code = run_cli(["eval", str(root), "-m", "sgnet_lite", "-w", "assets/sgnet_lite_synth.safetensors",
                    "--device", "cpu"])
    errors = [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln]
    assert code == 2 and len(errors) == 1 and "another aspect ratio" in errors[0]


def test_folder_source_square_pixels_and_warning(tmp_path):
    k, note = read_intrinsics(tmp_path, 1280, 720)
    assert k.fx == k.fy and "not 4:3" in note and "NYUv2" in note
    write_intrinsics_json(tmp_path, 640, 480, fx=500.0, fy=500.0)
    k, note = read_intrinsics(tmp_path, 512, 424)
    assert k.fx == k.fy == pytest.approx(400.0) and note.startswith("warning: intrinsics.json is for 640x480")


def test_folder_source_frames_carry_the_guess(tmp_path):
    write_nyu(tmp_path, size=(64, 36), label=None, test=())
    src = open_source(str(tmp_path), SourceOptions())
    assert any("square pixels" in n for n in src.notes)
    with src:
        f = next(iter(src))
    assert f.intrinsics.fx == f.intrinsics.fy


def test_camera_matrix_files(tmp_path):
    (tmp_path / "k3.txt").write_text("500 0 320.5\n0 501 240.5\n0 0 1\n")
    assert read_camera_matrix(tmp_path / "k3.txt") == (500, 501, 320.5, 240.5)
    assert read_camera_matrix(tmp_path / "k3.txt", one_based=True) == (500, 501, 319.5, 239.5)
    (tmp_path / "k4.txt").write_text("577.6 0 318.9 0\n0 578.7 242.7 0\n0 0 1 0\n0 0 0 1\n")
    assert read_camera_matrix(tmp_path / "k4.txt") == (577.6, 578.7, 318.9, 242.7)
    (tmp_path / "bad.txt").write_text("1 2 3\n")
    with pytest.raises(sgnet.DatasetError, match="holds 3 numbers; expected a 3x3 or 4x4"):
        read_camera_matrix(tmp_path / "bad.txt")
    assert np.isfinite(read_camera_matrix(tmp_path / "k4.txt")).all()
