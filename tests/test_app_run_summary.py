"""The run summary and bad frames: every bad frame's reason reaches the latency log, the first
few are said as they happen, and the summary counts them by kind of reason (headless and the
window print the same summary)."""

from __future__ import annotations

import csv
import io

import cv2
import numpy as np
import pytest
from test_app_cli import LIVE, csv_rows, run
from test_app_pipeline import Collect, FakeSegmenter, ListSource, frame

from app.pipeline import SAY_BAD_FRAMES, Pipeline
from app.sinks import LatencyLog
from app.sources import BadFrame
from app.stats import FrameRecord, RunStats, fps_text, print_summary, reason_kind


def test_every_bad_frame_is_logged_said_and_counted_by_kind(tmp_path):
    items = [
        frame(0),
        BadFrame(1, "stale color (frame 0 again)"),
        BadFrame(2, "Depth/0002.png is truncated (10 of 300 bytes)"),
        frame(3, depth_value=0),  # all-zero depth: bad, found by the pipeline
        BadFrame(4, "stale color (frame 3 again)"),
        frame(5),  # rejected by the segmenter
        BadFrame(6, "Depth/0006.png is truncated (0 of 300 bytes)"),
        BadFrame(7, "stale color\n(frame 6 again)"),  # a reason on two lines becomes one
        BadFrame(8, ""),  # a source that gives no reason still gets one
        frame(9),
    ]
    said: list[str] = []
    log = LatencyLog(tmp_path / "lat.csv")
    result = Pipeline(ListSource(items), FakeSegmenter(reject={5}), [Collect()], log=log, progress=said.append).run()
    assert result.error is None and result.stats.bad_frames == 8

    rows = list(csv.DictReader((tmp_path / "lat.csv").open(newline="")))
    assert [r["bad"] for r in rows] == [
        "", "stale color (frame 0 again)", "Depth/0002.png is truncated (10 of 300 bytes)", "all-zero depth",
        "stale color (frame 3 again)", "segmenter: frame rejected", "Depth/0006.png is truncated (0 of 300 bytes)",
        "stale color (frame 6 again)", "the source gave no reason", "",
    ]
    bad_lines = [s for s in said if s.startswith("bad frame")]
    assert len(bad_lines) == SAY_BAD_FRAMES == 3
    assert bad_lines[0] == "bad frame 1: stale color (frame 0 again)"
    assert bad_lines[2].startswith("bad frame 3: all-zero depth (further bad frames are counted")

    assert result.stats.bad_summary() == (
        "bad frames: 3 stale color, 2 Depth/ truncated, 1 all-zero depth, 1 segmenter: frame rejected, "
        "1 the source gave no reason"
    )
    out = io.StringIO()
    print_summary(result.stats, "sgnet-live · test", file=out)
    assert "bad 8" in out.getvalue() and result.stats.bad_summary() in out.getvalue().replace("\n", " ")


def test_many_kinds_stay_on_one_line():
    stats = RunStats()
    for i in range(9):
        stats.add(FrameRecord(i, 0.0, bad=f"kind{'abcdefghi'[i]} broken"), float(i))
    assert stats.bad_summary().endswith(", 4 other (4 more kinds)")


@pytest.mark.parametrize(
    "reason, kind",
    [
        ("Depth/0007.png: permission denied", "Depth/ permission denied"),
        ("RGB/0003.png is empty (0 bytes)", "RGB/ empty"),
        ("wrong size 12x10, expected 32x24", "wrong size"),
        ("segmenter: frame rejected", "segmenter: frame rejected"),
        ("frame 12: stale color", "stale color"),
        ("librealsense could not align this frameset: bad frame data", "librealsense could not align this frameset"),
        ("cannot decode color image 0003.png", "cannot decode color image"),
    ],
)
def test_reason_kinds(reason, kind):
    assert reason_kind(reason) == kind


def test_fps_of_fewer_than_two_frames_is_a_dash():
    stats = RunStats()
    assert fps_text(stats.fps) == "\u2014"
    stats.add(FrameRecord(0, 0.0), 1.0)
    out = io.StringIO()
    print_summary(stats, "one frame", file=out)
    assert "\u2014 FPS end to end" in out.getvalue() and "nan" not in out.getvalue()
    stats.add(FrameRecord(1, 0.0), 1.5)
    assert fps_text(stats.fps) == "2.0"


def test_progress_line_of_one_frame_shows_no_nan():
    said: list[str] = []
    pipe = Pipeline(ListSource([frame(0)]), FakeSegmenter(), progress_every_s=1e-9, progress=said.append)
    pipe.run()
    assert said and all("nan" not in s for s in said) and "\u2014 FPS" in said[0]


def test_cli_folder_with_damaged_files_says_and_counts_them(tmp_path):
    """The real command on a folder: each damaged file is a bad frame, said once with its file,
    logged, and counted by kind in the summary."""
    for name in ("RGB", "Depth"):
        (tmp_path / "f" / name).mkdir(parents=True)
    for i in range(5):
        cv2.imwrite(str(tmp_path / "f" / "RGB" / f"{i:04d}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
        cv2.imwrite(str(tmp_path / "f" / "Depth" / f"{i:04d}.png"), np.full((48, 64), 1000 + i, np.uint16))
    for i in (1, 3):
        depth = tmp_path / "f" / "Depth" / f"{i:04d}.png"
        depth.write_bytes(depth.read_bytes()[:60])  # truncated
    (tmp_path / "f" / "RGB" / "0004.png").write_bytes(b"")
    log = tmp_path / "lat.csv"
    r = run(LIVE, ["--camera", tmp_path / "f", "--headless", "--device", "cpu", "--log-latency", log])
    assert r.returncode == 0, r.stderr
    said = [ln for ln in r.stderr.splitlines() if ln.startswith("sgnet-live: bad frame ")]
    assert [ln.split(":")[1] for ln in said] == [" bad frame 1", " bad frame 3", " bad frame 4"], r.stderr
    assert "Depth/0001.png" in said[0] and "RGB/0004.png" in said[2]
    assert [bool(row["bad"]) for row in csv_rows(log)] == [False, True, False, True, True]
    assert "bad 3" in r.stdout and "bad frames: 2 Depth/" in r.stdout and ", 1 RGB/" in r.stdout
