"""The real `sgnet-live` in subprocesses, stopped by real signals (headless and the window),
and the run summary: a stop names its signal, the video and log are complete, FPS of one
frame is "—", and a window-only option with --headless is an error."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_app_cli import LIVE, ROOT, SMALL, csv_rows, run, video_frames


def logged_rows(log: Path) -> int:
    return max(len(log.read_text().splitlines()) - 1, 0) if log.exists() else 0


def stop_with(sig: signal.Signals, tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str, str, int]:
    """Start a run, send `sig` once the latency log holds a few rows; (process, stdout, stderr, rows)."""
    log = tmp_path / "lat.csv"
    args = ["--camera", "demo", "--save-video", str(tmp_path / "v.mp4"), "--log-latency", str(log), *SMALL, *extra]
    with subprocess.Popen(LIVE + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, QT_QPA_PLATFORM="offscreen")) as proc:
        deadline = time.monotonic() + 240
        while proc.poll() is None and logged_rows(log) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    return proc, out, err, len(csv_rows(log))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_headless_stops_cleanly_on_a_signal_and_names_it(tmp_path, sig):
    proc, out, err, rows = stop_with(sig, tmp_path, "--headless")
    assert proc.returncode == 0, err
    assert f"sgnet-live: stopped by {sig.name} after {rows} frames" in err, err
    assert "Ctrl-C" not in err and "Traceback" not in err
    assert f"stopped by {sig.name}" in out  # the summary's title says why the run ended
    assert video_frames(tmp_path / "v.mp4") == rows > 0  # every logged frame is in the finalized video
    assert not list(tmp_path.glob(".*"))


def test_window_stops_cleanly_on_sigterm(tmp_path):
    proc, out, err, rows = stop_with(signal.SIGTERM, tmp_path)
    assert proc.returncode == 0, err
    assert f"sgnet-live: stopped by SIGTERM after {rows} frames" in err, err
    assert "Traceback" not in err and "end to end" in out
    assert video_frames(tmp_path / "v.mp4") == rows > 0
    assert not list(tmp_path.glob(".*"))


def test_one_frame_run_shows_no_nan_fps(tmp_path):
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 1, *SMALL])
    assert r.returncode == 0, r.stderr
    assert "frames 1 " in r.stdout and "\u2014 FPS end to end" in r.stdout
    assert "nan" not in r.stdout.lower()


@pytest.mark.parametrize("flag", [["--exit-screenshot", "{tmp}/win.png"], ["--point-cloud"]])
def test_window_only_options_with_headless_are_an_error(tmp_path, flag):
    args = [a.replace("{tmp}", str(tmp_path)) for a in flag]
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 1, *args, *SMALL])
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"sgnet-live: error: {flag[0]} is for the window"), r.stderr
    assert list(tmp_path.iterdir()) == []
