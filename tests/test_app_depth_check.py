"""Depth is checked, not trusted: wrong units (mm read as m, TUM's 1/5000 m, float millimetres)
and mostly missing depth get one warning per run naming the fix; all-zero depth is a bad frame
whose reason is said and counted by kind. Before this, all of these ran silently with exit 0."""

from __future__ import annotations

import csv
import io
import time

import cv2
import numpy as np
import pytest
from test_app_cli import LIVE, csv_rows, run
from test_app_pipeline import FakeSegmenter, ListSource

from app.depth_check import DepthWatch, check_depth
from app.pipeline import Pipeline
from app.sinks import LatencyLog
from app.sources import BadFrame, SourceInfo, SourceOptions
from app.sources.folder import FolderSource
from app.stats import print_summary
from sgnet.frames import Intrinsics, RGBDFrame

K = Intrinsics(32, 24, 30.0, 30.0, 15.5, 11.5)
MM_MSG = ("median valid depth 1500 m in frame 0: the depth is probably millimetres read as metres; "
          "try --depth-scale 0.001")


def room_mm(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """A room in millimetres: 0.8-3.5 m with 10 % holes, as a sensor sees it."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(800, 3500, (h, w)).astype(np.uint16)
    d[rng.random((h, w)) < 0.1] = 0
    return d


@pytest.mark.parametrize(
    "raw, scale, problem, suggested",
    [
        (room_mm(), 0.001, "", None),  # millimetres read as millimetres
        (room_mm(), 1.0, "too far", 0.001),  # --depth-scale 1 on millimetre PNGs
        (room_mm() * 5, 0.001, "", None),  # TUM (x5000) read as mm: 4-17 m, inside the plausible range ...
        (room_mm() * 5, 1.0, "too far", 0.0001),  # ... but not with --depth-scale 1
        (np.full((24, 32), 120, np.uint16), 0.001, "too near", 0.01),  # 1.2 m in centimetres read as millimetres
        (np.full((24, 32), 65535, np.uint16), 0.001, "saturated", None),  # float mm read as metres, clipped
        (np.where(np.arange(32) < 10, 1500, 0).astype(np.uint16)[None].repeat(24, 0), 0.001, "mostly invalid", None),
        (np.zeros((24, 32), np.uint16), 0.001, "no depth", None),
    ],
)
def test_check_depth_finds_wrong_units(raw, scale, problem, suggested):
    c = check_depth(raw, scale)
    assert c.problem == problem and c.suggested_scale == suggested, c
    if suggested is not None:
        assert 0.2 <= c.median_m * suggested / scale <= 15.0  # the suggestion brings it into range
        assert c.message().endswith(f"try --depth-scale {suggested:g}")


def test_messages_name_the_fix():
    c = check_depth(np.full((480, 640), 1500, np.uint16), 1.0)
    assert c.message(frame=0) == MM_MSG
    # a camera or recording reports its own units: no --depth-scale to suggest
    assert "--depth-scale" not in c.message(scale_option=False)
    sat = check_depth(np.full((48, 64), 65535, np.uint16), 0.001).message()
    assert "16-bit limit" in sat and "metres" in sat and "divided by 1000" in sat


def test_check_is_cheap_at_640x480():
    depth = room_mm(480, 640)
    check_depth(depth, 0.001)
    t0 = time.perf_counter()
    for _ in range(50):
        check_depth(depth, 0.001)
    per_frame_ms = (time.perf_counter() - t0) / 50 * 1000
    assert per_frame_ms < 5.0, per_frame_ms  # ~0.25 ms measured; generous for a loaded CI machine


def test_watch_warns_once_per_run():
    watch = DepthWatch()
    assert watch.see(room_mm(), 0.001, 0) == ""
    assert watch.see(np.zeros((24, 32), np.uint16), 0.001, 1) == ""  # all-zero: a bad frame, not a warning
    first = watch.see(room_mm(), 1.0, 2)
    assert first.startswith("median valid depth") and "in frame 2" in first
    assert watch.see(room_mm(), 1.0, 3) == "" and watch.warning == first


def _frames(scale: float, n: int = 4) -> list:
    return [RGBDFrame(np.zeros((24, 32, 3), np.uint8), room_mm(seed=i), scale, K, i, i * 10.0, time.monotonic_ns())
            for i in range(n)]


def test_pipeline_says_the_warning_once_logs_it_and_repeats_it_in_the_summary(tmp_path):
    said: list[str] = []
    log = LatencyLog(tmp_path / "lat.csv")
    result = Pipeline(ListSource(_frames(1.0)), FakeSegmenter(), log=log, progress=said.append).run()
    warnings = [s for s in said if s.startswith("warning:")]
    assert len(warnings) == 1 and "try --depth-scale 0.001" in warnings[0] and "in frame 0" in warnings[0]
    assert result.stats.warnings == [warnings[0].removeprefix("warning: ")]
    rows = list(csv.DictReader((tmp_path / "lat.csv").open(newline="")))
    assert [bool(r["note"]) for r in rows] == [True, False, False, False]
    assert all(not r["bad"] for r in rows)  # a warning, not a bad frame: the frames are still segmented
    out = io.StringIO()
    print_summary(result.stats, "t", file=out)
    assert warnings[0] in out.getvalue().replace("\n", " ")


def test_a_recording_is_not_told_to_use_depth_scale():
    """A camera or recording reports its own units: the warning names no --depth-scale there."""
    said: list[str] = []
    source = ListSource(_frames(1.0))
    source._info = SourceInfo("recording", "room.db3", 32, 24, 30.0, False)
    Pipeline(source, FakeSegmenter(), progress=said.append).run()
    warnings = [s for s in said if s.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: median valid depth")
    assert "--depth-scale" not in warnings[0] and "camera or recording reports" in warnings[0]


def test_pipeline_without_problems_says_nothing():
    said: list[str] = []
    result = Pipeline(ListSource(_frames(0.001)), FakeSegmenter(), progress=said.append).run()
    assert not [s for s in said if s.startswith("warning")] and result.stats.warnings == []


def test_all_zero_depth_is_said_and_counted_by_its_kind(tmp_path):
    said: list[str] = []
    items = [*_frames(0.001, 2),
             RGBDFrame(np.zeros((24, 32, 3), np.uint8), np.zeros((24, 32), np.uint16), 0.001, K, 2),
             BadFrame(3, "Depth/0003.png: 12 zeros in 4 rows", kind="depth file damaged")]
    result = Pipeline(ListSource(items), FakeSegmenter(), progress=said.append).run()
    assert "bad frame 2: all-zero depth" in said
    assert result.stats.bad_summary() == "bad frames: 1 all-zero depth, 1 depth file damaged"
    assert not result.stats.warnings  # counted as bad, not warned about as well


def _folder(tmp_path, depth_mm: np.ndarray, n: int = 3, ext: str = ".png"):
    root = tmp_path / "f"
    (root / "RGB").mkdir(parents=True)
    (root / "Depth").mkdir()
    for i in range(n):
        cv2.imwrite(str(root / "RGB" / f"{i:04d}.png"), np.full((*depth_mm.shape, 3), 90, np.uint8))
        if ext == ".npy":
            np.save(root / "Depth" / f"{i:04d}.npy", depth_mm.astype(np.float32))  # float: read as metres
        else:
            cv2.imwrite(str(root / "Depth" / f"{i:04d}.png"), depth_mm)
    return root


def test_float_npy_in_millimetres_saturates_and_is_named(tmp_path):
    """A float .npy in millimetres is read as metres: 1500 m does not fit 16-bit millimetres."""
    src = FolderSource(_folder(tmp_path, np.full((24, 32), 1500, np.uint16), 1, ".npy"), SourceOptions())
    frame = src.read(0)
    c = check_depth(frame.depth, frame.depth_scale)
    assert c.problem == "saturated" and "divided by 1000" in c.message()


def test_cli_depth_scale_1_on_millimetre_pngs_warns_once(tmp_path):
    root = _folder(tmp_path, np.full((48, 64), 1500, np.uint16))
    log = tmp_path / "lat.csv"
    r = run(LIVE, ["--camera", root, "--headless", "--device", "cpu", "--depth-scale", 1, "--log-latency", log])
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "warning" in ln]
    assert lines == [f"sgnet-live: warning: {MM_MSG}"], r.stderr
    assert f"warning: {MM_MSG}" in r.stdout.replace("\n", " ")  # the summary repeats it
    assert [row["note"] for row in csv_rows(log)] == [MM_MSG, "", ""]
    ok = run(LIVE, ["--camera", root, "--headless", "--device", "cpu"])  # the default millimetres
    assert ok.returncode == 0 and "warning" not in ok.stderr + ok.stdout, ok.stderr


def test_cli_demo_honours_depth_scale_and_warns(tmp_path):
    """--depth-scale was silently ignored by the demo; now it sets the units, and 1 is implausible."""
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 2, "--width", 64, "--height", 48, "--device", "cpu",
                   "--depth-scale", 1, "--quiet"])
    assert r.returncode == 0, r.stderr
    assert "warning: median valid depth" in r.stdout and "try --depth-scale 0.001" in r.stdout, r.stdout
    assert "warning" not in r.stderr  # --quiet: only the summary says it
    bad = run(LIVE, ["--camera", "demo", "--headless", "--frames", 1, "--depth-scale", 0, "--device", "cpu"])
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("sgnet-live: error: --depth-scale")


def test_cli_depth_scale_on_a_source_that_reports_its_units_is_an_error(tmp_path):
    """A camera or recording reports its own depth units: --depth-scale would be ignored, so it is refused."""
    rec = tmp_path / "room.db3"
    rec.write_bytes(b"SQLite format 3\x00")
    for camera in (rec, "realsense"):
        r = run(LIVE, ["--camera", camera, "--headless", "--depth-scale", 0.001, "--device", "cpu"])
        assert r.returncode == 2 and r.stderr.strip().splitlines() == [
            f"sgnet-live: error: --depth-scale is for folders and the demo; {camera} reports its own depth units "
            "(leave out --depth-scale)"], r.stderr
