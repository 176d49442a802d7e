"""--fill-holes: the model sees in-painted depth, in the live Segmenter and in `sgnet eval` alike."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_runner import run_cli
from test_sgnet_segmenter import RecordingStub, make_frame

import sgnet
from sgnet.depth_holes import fill_holes
from sgnet.loading import bundled_weights


def _with_holes(seed: int = 1):
    frame = make_frame(seed=seed)
    depth = frame.depth.copy()
    depth[20:35, 30:50] = 0  # a dark monitor
    depth[:, :6] = 0  # the stereo band on the left
    return dataclasses.replace(frame, depth=depth)


def test_integer_depth_is_filled_with_rounded_neighbours_and_kept_elsewhere():
    depth = np.full((20, 20), 1500, np.uint16)
    depth[5:9, 5:9] = 0
    depth[12:, 12:] = 1501
    out = fill_holes(depth)
    assert out.dtype == np.uint16 and (out > 0).all()
    assert set(np.unique(out[5:9, 5:9])) <= {1500, 1501}
    np.testing.assert_array_equal(out[depth > 0], depth[depth > 0])
    assert fill_holes(out) is out  # nothing to fill: the same array


def test_segmenter_feeds_the_model_the_in_painted_depth():
    frame = _with_holes()
    filled = dataclasses.replace(frame, depth=fill_holes(frame.depth))
    runs = {}
    for name, seg_frame, fill in (("raw", frame, False), ("option", frame, True), ("pre-filled", filled, False)):
        stub = RecordingStub()
        sgnet.Segmenter(stub, device="cpu", fill_holes=fill).segment(seg_frame)
        runs[name] = stub.calls[0][1][0].numpy()  # the xyz the model was given
    np.testing.assert_array_equal(runs["option"], runs["pre-filled"])
    assert (runs["raw"][2, 20:35, 30:50] == 0).all() and (runs["option"][2] > 0).all()
    # measured depth is what it was
    np.testing.assert_array_equal(runs["option"][:, frame.depth > 0], runs["raw"][:, frame.depth > 0])
    # a model that runs smaller sees the in-painting of its own nearest-resized depth
    stub = RecordingStub()
    sgnet.Segmenter(stub, device="cpu", fill_holes=True, input_size=(30, 40)).segment(frame)
    z = stub.calls[0][1][0, 2].numpy()
    np.testing.assert_allclose(z, fill_holes(frame.depth[1::2, 1::2].astype(np.float32)) * 0.001, rtol=1e-6)


def test_live_fills_holes_on_real_sources_by_default_and_as_told():
    from app.live import LiveOptions, fills_holes, load_segmenter, model_line

    auto, on, off = LiveOptions(quiet=True), LiveOptions(fill_holes=True), LiveOptions(fill_holes=False)
    for kind in ("realsense", "recording", "folder"):
        assert fills_holes(auto, kind) and fills_holes(on, kind) and not fills_holes(off, kind)
    assert not fills_holes(auto, "demo") and fills_holes(on, "demo")  # the clip's holes are the renders'
    seg = load_segmenter(auto, "folder")
    assert seg.fill_holes is True
    assert model_line(seg, auto).endswith("depth holes in-painted before the model")
    assert "in-painted" not in model_line(load_segmenter(auto, "demo"), auto)


@pytest.fixture
def holey_dataset(tmp_path: Path) -> Path:
    """Two renders of a room with a quarter of their depth punched out."""
    root = tmp_path / "rooms"
    assert run_cli(["synth", str(root), "-n", "2", "--size", "48x64", "--rooms", "1", "--seed", "3", "-q"]) == 0
    for png in sorted((root / "Depth").iterdir()):
        depth = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        depth[::2, ::2] = 0
        assert cv2.imwrite(str(png), depth)
    return root


def test_eval_fill_holes_scores_the_in_painted_depth_and_says_so(holey_dataset: Path, tmp_path: Path):
    results = {}
    for name, extra in (("raw", []), ("filled", ["--fill-holes"])):
        out = tmp_path / f"{name}.json"
        argv = ["eval", str(holey_dataset), "--split", "all", "-w", str(bundled_weights("sgnet_lite")),
                "--json", str(out), *extra]
        assert run_cli(argv) == 0
        results[name] = json.loads(out.read_text())
    assert results["raw"]["fill_holes"] is False and results["filled"]["fill_holes"] is True
    assert results["raw"]["confusion_matrix"] != results["filled"]["confusion_matrix"]


def test_sensor_holes_script_gives_a_dataset_the_sensor_models_holes(tmp_path: Path):
    """scripts/sensor_holes.py: same colour and labels, depth with holes (more with --speckle),
    the same holes for the same seed, and an existing output folder refused."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "clean"
    assert run_cli(["synth", str(src), "-n", "2", "--size", "48x64", "--rooms", "1", "--seed", "3", "-q"]) == 0
    for png in (src / "Depth").iterdir():  # in-painted like NYUv2's: no holes to start from
        depth = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        assert cv2.imwrite(str(png), fill_holes(depth))

    def run(out: Path, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "scripts/sensor_holes.py", str(src), str(out), *extra],
                              cwd=root, capture_output=True, text=True, timeout=120)

    holes = {}
    for name, extra in (("a", ()), ("b", ()), ("speckle", ("--speckle", "0.1"))):
        assert run(tmp_path / name, *extra).returncode == 0
        depth = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted((tmp_path / name / "Depth").iterdir())]
        holes[name] = float(np.mean([(d == 0).mean() for d in depth]))
        for folder in ("RGB", "Label"):
            for p in (src / folder).iterdir():
                assert (tmp_path / name / folder / p.name).read_bytes() == p.read_bytes()
    assert 0.0 < holes["a"] == holes["b"] < holes["speckle"] - 0.02
    again = run(tmp_path / "a")
    assert again.returncode == 2 and "exists" in again.stderr
