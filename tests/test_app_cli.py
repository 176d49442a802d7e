"""The real `sgnet-live` / `sgnet record` CLIs in subprocesses: a demo run, Ctrl-C, bad input."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

LIVE = [sys.executable, "-c", "from app.cli_live import main; main()"]
TOOLS = [sys.executable, "-c", "from app.cli_tools import main; main()"]
ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--width", "64", "--height", "48", "--device", "cpu"]  # small frames keep the CPU model quick


def run(cmd, args, timeout=300, **kw):
    return subprocess.run(cmd + [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kw)


def video_frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    return n


def csv_rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_demo_headless_run_writes_video_log_and_summary(tmp_path):
    video, log = tmp_path / "out.mp4", tmp_path / "lat.csv"
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 60, "--save-video", video, "--log-latency", log,
                   *SMALL])
    assert r.returncode == 0, r.stderr
    assert video_frames(video) == 60
    rows = csv_rows(log)
    assert len(rows) == 60 and [int(x["index"]) for x in rows] == list(range(60))
    assert all(float(x["model_ms"]) > 0 and float(x["e2e_ms"]) > 0 for x in rows)
    for stage in ("capture wait", "upload", "spatial", "model", "postprocess", "render", "sink", "end to end"):
        assert stage in r.stdout
    assert "p50" in r.stdout and "p99" in r.stdout and "frames 60" in r.stdout and "FPS" in r.stdout
    assert "Traceback" not in r.stderr


def test_ctrl_c_leaves_a_playable_video_and_a_complete_log(tmp_path):
    video, log = tmp_path / "out.mp4", tmp_path / "lat.csv"
    proc = subprocess.Popen(
        LIVE + ["--camera", "demo", "--headless", "--save-video", str(video), "--log-latency", str(log), *SMALL],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if log.exists() and len(log.read_text().splitlines()) > 6:  # header + a few rows
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped by Ctrl-C" in err and "Traceback" not in err and "end to end" in out
    text = log.read_text()
    assert text.endswith("\n")
    rows = csv_rows(log)
    assert len(rows) >= 6 and all(len(r) == 16 and None not in r.values() for r in rows)  # 16: with keyframe, note
    assert video_frames(video) == len(rows)  # every logged frame is in the finalized video
    assert not list(tmp_path.glob(".*partial*"))


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _has_camera() -> bool:
    import pyrealsense2 as rs

    return len(rs.context().query_devices()) > 0


def _unsafe_pickle(path: Path, marker: Path) -> None:
    import torch

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"state_dict": {"w": torch.zeros(1)}, "evil": Evil()}, path)


def _mismatched_weights(path: Path, _marker: Path) -> None:
    import torch
    from safetensors.torch import save_file

    save_file({"backbone.not_a_layer.weight": torch.zeros(3, 3)}, str(path))


BAD_INPUTS = {
    "missing file": (["--camera", "{tmp}/nope.db3"], None, "no such file or folder"),
    "garbage recording": (["--camera", "{tmp}/junk.db3"], ("junk.db3", b"this is not a recording"),
                          "is not a RealSense recording"),
    "truncated recording": (["--camera", "{tmp}/cut.db3"], ("cut.db3", b"SQLite format 3\x00" + bytes(300)),
                            "cannot read recording"),
    "empty folder": (["--camera", "{tmp}/empty"], ("empty/", b""), "no frames in"),
    "missing output folder": (["--save-video", "{tmp}/no/such/dir/v.mp4"], None, "does not exist"),
    "output is a folder": (["--log-latency", "{tmp}/dir.csv"], ("dir.csv/", b""), "is a folder"),
    "bad log suffix": (["--log-latency", "{tmp}/lat.txt"], None, "must end in .csv or .jsonl"),
    "missing weights": (["--weights", "{tmp}/w.pth"], None, "weights file not found"),
    "bad frames value": (["--frames", "0"], None, "--frames must be at least 1"),
    "unknown model": (["--model", "no_such_model"], None, "unknown model 'no_such_model'"),
    "bad device": (["--device", "gpu"], None, "--device must be auto, cpu, cuda or cuda:N"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_clear_line(tmp_path, name):
    args, create, message = BAD_INPUTS[name]
    if create is not None:
        target = tmp_path / create[0]
        if create[0].endswith("/"):
            target.mkdir()
        else:
            target.write_bytes(create[1])
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    outs = ["--save-video", tmp_path / "v.mp4"] if "--save-video" not in args else []
    t0 = time.monotonic()
    r = run(LIVE, ["--headless", "--frames", 3, *outs, *args])
    _assert_one_line_error(r, message)
    assert not (tmp_path / "v.mp4").exists() and not list(tmp_path.glob(".*partial*"))
    assert time.monotonic() - t0 < 60


def _assert_one_line_error(r, message):
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and "GUI" not in ln]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("sgnet-live: error:") and message in lines[0], lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.skipif(_has_cuda(), reason="CUDA is available here")
def test_cuda_without_cuda(tmp_path):
    r = run(LIVE, ["--headless", "--frames", 1, "--device", "cuda", "--save-video", tmp_path / "v.mp4"])
    _assert_one_line_error(r, "CUDA is not available")
    assert not (tmp_path / "v.mp4").exists()


@pytest.mark.skipif(_has_camera(), reason="a RealSense camera is connected")
def test_realsense_without_camera(tmp_path):
    r = run(LIVE, ["--headless", "--camera", "realsense", "--log-latency", tmp_path / "l.csv"])
    _assert_one_line_error(r, "no Intel RealSense camera found")
    assert "--camera demo" in r.stderr and not (tmp_path / "l.csv").exists()


@pytest.mark.parametrize(
    "make, message", [(_unsafe_pickle, "refusing to load"), (_mismatched_weights, "fits none of the registered models")]
)
def test_weights_errors(tmp_path, make, message):
    weights = tmp_path / ("w.safetensors" if make is _mismatched_weights else "w.pth")
    marker = tmp_path / "pwned"
    make(weights, marker)
    r = run(LIVE, ["--headless", "--frames", 1, "--weights", weights, "--save-video", tmp_path / "v.mp4", *SMALL])
    _assert_one_line_error(r, message)
    assert not marker.exists(), "loading the weights ran code from the pickle"
    assert not (tmp_path / "v.mp4").exists()


@pytest.mark.skipif(_has_camera(), reason="a RealSense camera is connected")
def test_record_without_camera(tmp_path):
    r = run(TOOLS, ["record", tmp_path / "r.db3", "--frames", 3])
    assert r.returncode == 2 and "no Intel RealSense camera found" in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.iterdir())


def test_record_needs_db3(tmp_path):
    r = run(TOOLS, ["record", tmp_path / "r.bag"])
    assert r.returncode == 2 and "must end in .db3" in r.stderr and "Traceback" not in r.stderr


def test_help_shows_examples():
    r = run(LIVE, ["--help"])
    assert r.returncode == 0 and "sgnet-live --camera demo --headless" in r.stdout and "--save-video" in r.stdout
    r = run(TOOLS, ["record", "--help"])
    assert r.returncode == 0 and "sgnet record room.db3" in r.stdout
