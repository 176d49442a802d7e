"""Outputs that cannot be written: every write is checked, the run stops with one line and
exit status 4, and what is left on disk is complete and reported truthfully.

A full disk is simulated by making the sinks' low-level write fail with ENOSPC part-way
through a chunk (as a real full disk does), and, where this process may mount one, a real
nearly-full tmpfs runs the real `sgnet-live`.
"""

from __future__ import annotations

import csv
import errno
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_app_render_sinks import make_seg, read_video

from app.files import write_all
from app.sinks import LatencyLog, OutputError, Rendered, ScreenshotSink, VideoSink
from app.stats import FrameRecord

LIVE = [sys.executable, "-c", "from app.cli_live import main; main()"]
ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--width", "64", "--height", "48", "--device", "cpu"]
BUNDLE = {"color.png", "overlay.png", "labels.png", "depth.png", "cloud.ply", "meta.json"}


class DiskFullAfter:
    """A stand-in for `app.files.write_all` whose disk holds `room` more bytes: the write that
    crosses the limit puts what fits on disk, then fails with ENOSPC."""

    def __init__(self, room: int) -> None:
        self.room = room

    def __call__(self, fd: int, data) -> int:  # noqa: ANN001 - bytes-like
        data = bytes(data)
        if len(data) > self.room:
            os.write(fd, data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return write_all(fd, data)


def write_until_full(sink, count: int, frame) -> tuple[int, OutputError]:  # noqa: ANN001 - a sink, i -> Rendered
    """Write `frame(i)` for i = 0, 1, ... into `sink` until it raises OutputError (the test fails
    if none of `count` frames does): how many writes completed, and the error."""
    written = 0
    with pytest.raises(OutputError) as err:
        for i in range(count):
            sink.write(frame(i))
            written += 1
    return written, err.value


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- video ---------------------------------------------------------------------------------


def test_video_on_a_full_disk_keeps_the_complete_frames_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr("app.sinks.mp4.write_all", DiskFullAfter(9000))
    path = tmp_path / "v.mp4"
    sink = VideoSink(path)
    sink.open(48, 32, 30.0)
    written, error = write_until_full(sink, 200, lambda i: Rendered(make_seg(i)))
    line = sink.close()[0]
    frames = read_video(path)  # decoded one by one: what a user really gets
    kept = len(frames)
    assert 0 < kept <= written < 200
    assert str(error) == f"disk full writing {path} after {written} frames; kept the first {kept} frames in {path}"
    assert error.exit_code == 4
    assert line == f"video: {path} ({kept} frames, 48x32, overlay; incomplete: disk full)"
    assert cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) == 30.0
    assert hidden(tmp_path) == []  # no partial file left


def test_video_that_cannot_be_finalized_keeps_its_complete_frames(tmp_path, monkeypatch):
    path = tmp_path / "v.mp4"
    sink = VideoSink(path)
    sink.open(48, 32, 30.0)
    for i in range(5):
        sink.write(Rendered(make_seg(i)))
    monkeypatch.setattr("app.sinks.mp4.write_all", DiskFullAfter(10))  # the disk fills before the last fragment
    with pytest.raises(OutputError, match=r"after 5 frames; kept the first 4 frames in "):
        sink.close()
    assert len(read_video(path)) == 4 and hidden(tmp_path) == []
    assert sink.close() == [f"video: {path} (4 frames, 48x32, overlay; incomplete: disk full)"]


def test_video_that_fails_before_a_whole_frame_is_not_left_behind(tmp_path, monkeypatch):
    monkeypatch.setattr("app.sinks.mp4.write_all", DiskFullAfter(300))  # not even the header fits
    sink = VideoSink(tmp_path / "v.mp4")
    sink.open(48, 32, 30.0)
    with pytest.raises(OutputError, match=r"^disk full writing .*v\.mp4 after 0 frames; no frame could be kept"):
        for i in range(5):
            sink.write(Rendered(make_seg(i)))
    assert sink.close() == [f"video: {tmp_path / 'v.mp4'} not written (disk full)"]
    assert list(tmp_path.iterdir()) == []


def test_two_writers_of_one_video_never_mix_frames(tmp_path):
    """Two runs writing the same --save-video: each has its own partial file; the last to
    finish wins with its own complete video."""
    path = tmp_path / "v.mp4"
    a, b = VideoSink(path, "labels"), VideoSink(path, "labels")
    for sink in (a, b):
        sink.open(48, 32, 30.0)
    for i in range(12):
        a.write(Rendered(make_seg(0)))  # a: always frame 0's labels
        if i < 7:
            b.write(Rendered(make_seg(5)))  # b: frame 5's labels, 7 times
    assert a.partial != b.partial and len(hidden(tmp_path)) == 2
    assert "12 frames" in a.close()[0] and len(read_video(path)) == 12
    assert "7 frames" in b.close()[0]
    frames = read_video(path)
    assert len(frames) == 7
    expect = cv2.cvtColor(read_video_rgb_labels(5), cv2.COLOR_RGB2BGR).astype(int)
    assert all(np.abs(f.astype(int) - expect).mean() < 12 for f in frames)
    assert hidden(tmp_path) == []


def read_video_rgb_labels(i: int) -> np.ndarray:
    import assets

    return assets.colorize(make_seg(i).labels)


# --- latency log ---------------------------------------------------------------------------


def rec(i: int) -> FrameRecord:
    return FrameRecord(i, i * 33.3, 0.5, {"model": 3.0}, 5.0, 6.0, 21.5, None, 0, "")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_latency_log_on_a_full_disk_keeps_only_whole_lines(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"lat{suffix}"
    monkeypatch.setattr("app.sinks.latency_log.write_all", DiskFullAfter(700))  # runs out mid-line
    log = LatencyLog(path)
    with pytest.raises(OutputError) as err:
        for i in range(100):
            log.write(rec(i))
    rows = log.rows
    assert 0 < rows < 100
    assert str(err.value) == (
        f"disk full writing the latency log {path} after {rows} rows; kept the first {rows} rows in {path}"
    )
    text = path.read_text()
    assert text.endswith("\n") and len(text.splitlines()) == rows + (suffix == ".csv")
    if suffix == ".csv":
        assert [int(r["index"]) for r in csv.DictReader(path.open(newline=""))] == list(range(rows))
    assert log.close() == [f"latency log: {path} ({rows} rows; incomplete: disk full)"]


def test_latency_log_without_a_whole_row_is_removed(tmp_path, monkeypatch):
    monkeypatch.setattr("app.sinks.latency_log.write_all", DiskFullAfter(40))  # not even the header
    log = LatencyLog(tmp_path / "lat.csv")
    with pytest.raises(OutputError, match=r"after 0 rows; .*lat\.csv removed$"):
        log.write(rec(0))
    assert list(tmp_path.iterdir()) == []


def test_latency_log_to_dev_full_is_one_line(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    (tmp_path / "lat.csv").symlink_to("/dev/full")
    log = LatencyLog(tmp_path / "lat.csv")
    with pytest.raises(OutputError, match=r"^disk full writing the latency log .*lat\.csv after 0 rows$"):
        log.write(rec(0))
    assert (tmp_path / "lat.csv").is_symlink()  # a device is never truncated or removed


# --- screenshots ---------------------------------------------------------------------------


def test_screenshot_on_a_full_disk_leaves_no_half_bundle(tmp_path, monkeypatch):
    import app.sinks.screenshots as shots

    real_ply = shots.write_ply
    calls = []

    def ply_then_full(path, points, *args):  # the second bundle's cloud.ply runs out of space half way
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"ply\nformat binary_little_endian 1.0\n")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_ply(path, points, *args)

    monkeypatch.setattr(shots, "write_ply", ply_then_full)
    folder = tmp_path / "shots"
    sink = ScreenshotSink(folder, every=1)
    sink.write(Rendered(make_seg(0)))
    with pytest.raises(OutputError) as err:
        sink.write(Rendered(make_seg(1)))
    assert str(err.value) == (
        f"disk full writing the screenshot bundle {folder / 'frame_000001'}; it was removed "
        f"(1 complete bundle kept in {folder})"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["frame_000000"]  # no partial folder either
    assert {p.name for p in (folder / "frame_000000").iterdir()} == BUNDLE
    assert sink.close()[0] == f"screenshots: 1 in {folder} (last frame_000000; stopped: disk full)"


def test_a_bundle_of_the_same_frame_replaces_the_old_one_whole(tmp_path):
    folder = tmp_path / "shots"
    ScreenshotSink(folder, every=1).write(Rendered(make_seg(3)))
    (folder / "frame_000003" / "stale.txt").write_text("from an earlier run")
    ScreenshotSink(folder, every=1).write(Rendered(make_seg(3)))
    assert sorted(p.name for p in folder.iterdir()) == ["frame_000003"]
    assert {p.name for p in (folder / "frame_000003").iterdir()} == BUNDLE


# --- the real command on a real, nearly full disk -----------------------------------------------


@pytest.fixture
def nearly_full_disk(nearly_full_tmpfs):
    """A 1mB tmpfs with about 12 KiB left (root only; else skipped)."""
    return nearly_full_tmpfs("1m", 12)


def test_save_video_on_a_full_disk_stops_with_one_line_and_exit_4(nearly_full_disk):
    video, log = nearly_full_disk / "v.mp4", nearly_full_disk.parent / "lat.csv"
    r = subprocess.run(
        LIVE + ["--camera", "demo", "--headless", "--frames", "120", "-q", "--save-video", str(video),
                "--log-latency", str(log), *SMALL],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 4, (r.stdout, r.stderr)
    errors = [ln for ln in r.stderr.splitlines() if "error" in ln.lower() or "failed" in ln.lower()]
    assert len(errors) == 1 and errors[0].startswith(f"sgnet-live: error: disk full writing {video} after "), r.stderr
    assert "Traceback" not in r.stderr and "Failed to write frame" not in r.stderr
    frames_written = int(errors[0].split(" after ")[1].split()[0])
    if video.exists():  # truthful: what the line says is what a reader finds
        kept = len(read_video(video))
        assert f"kept the first {kept} frame" in errors[0] and 0 < kept <= frames_written
        assert f"sgnet-live: video: {video} ({kept} frame" in r.stderr
    else:
        assert f"{video} not written" in errors[0]
    assert not [p for p in nearly_full_disk.iterdir() if p.name.startswith(".")]
    rows = list(csv.DictReader(log.open(newline="")))
    assert 0 < len(rows) < 120 and f"frames {len(rows)}" in r.stdout  # the run stopped at the failure


# --- the window's own files, and errors that reach the command line ------------------------------


def test_window_outputs_on_a_full_disk_end_the_run_with_status_4(qtbot, tmp_path, monkeypatch):
    from PyQt5.QtCore import Qt
    from test_gui_window import make_window

    import app.sinks.screenshots as shots
    from app.gui.launch import raise_window_failures

    out = tmp_path / "win.png"
    w = make_window(tmp_path, exit_screenshot=str(out))
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.shown_count >= 2, timeout=20000)

    def full(path, points, *args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(shots, "write_ply", full)  # S: the bundle fails half way
    qtbot.keyClick(w, Qt.Key_S)
    w.captures.close()
    monkeypatch.setattr("app.files.write_all", DiskFullAfter(100))  # the exit screenshot fails too
    qtbot.keyClick(w, Qt.Key_Q)
    assert w.exit_screenshot_error == f"disk full writing the exit screenshot {out}; not written"
    assert w.captures.failures == [f"disk full: screenshot not saved in {tmp_path / 'captures'}"]
    with pytest.raises(OutputError) as err:
        raise_window_failures(w)
    assert str(err.value) == f"{w.exit_screenshot_error} (and 1 more failed saves)" and err.value.exit_code == 4
    assert not out.exists() and hidden(tmp_path) == [] and list((tmp_path / "captures").iterdir()) == []


def test_a_bare_write_error_of_a_sink_is_an_output_error():
    from types import SimpleNamespace

    from app.live import raise_run_error

    result = SimpleNamespace(error=OSError(errno.EACCES, "Permission denied", "/out/x.bin"))
    with pytest.raises(OutputError, match=r"^permission denied: cannot write output /out/x\.bin$") as err:
        raise_run_error(result)
    assert err.value.exit_code == 4
