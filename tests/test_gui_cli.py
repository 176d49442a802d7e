"""`sgnet-live` with its window, as a user runs it (offscreen Qt), with the real default model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2

LIVE = [sys.executable, "-c", "from app.cli_live import main; main()"]
ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--width", "64", "--height", "48", "--device", "cpu"]


def run(args, env=None, timeout=300):
    return subprocess.run(LIVE + [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=env)


def offscreen_env() -> dict:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def test_window_run_with_point_cloud_and_exit_screenshot(tmp_path):
    shot = tmp_path / "win.png"
    video = tmp_path / "run.mp4"
    r = run(["--camera", "demo", *SMALL, "--frames", 2, "--point-cloud", "--exit-screenshot", shot,
             "--save-video", video, "--screenshot-dir", tmp_path / "caps"], env=offscreen_env())
    assert r.returncode == 0, r.stderr
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[0] >= 400 and img.shape[1] >= 800  # the whole window
    assert f"exit screenshot: {shot}" in r.stderr
    assert "frames 2 · segmented 2" in r.stdout and "model" in r.stdout  # the latency table, as headless
    cap = cv2.VideoCapture(str(video))  # --save-video works with the window too
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 2


def test_window_option_mistakes_are_one_line(tmp_path):
    r = run(["--camera", "demo", "--pc-stride", 0], env=offscreen_env(), timeout=120)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == ["sgnet-live: error: --pc-stride must be between 1 and 64 pixels, got 0"]
    r = run(["--camera", "demo", "--exit-screenshot", tmp_path / "win.jpg"], env=offscreen_env(), timeout=120)
    assert r.returncode == 2 and "must end in .png" in r.stderr and "Traceback" not in r.stderr


def test_no_display_suggests_headless():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = run(["--camera", "demo", "--frames", 1], env=env, timeout=120)
    assert r.returncode == 2
    assert "no display found" in r.stderr and "--headless" in r.stderr and "Traceback" not in r.stderr
