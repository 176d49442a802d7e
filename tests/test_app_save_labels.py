"""`--save-labels DIR`: one 8-bit grayscale class-id PNG per frame, named by the latency log's
frame index, written whole or not at all, checked before the run starts."""

from __future__ import annotations

import errno
import os
import subprocess
import time

import cv2
import numpy as np
import pytest
from test_app_cli import LIVE, ROOT, SMALL, csv_rows, run
from test_app_outputs_failures import DiskFullAfter, hidden, write_until_full
from test_app_pipeline import FakeSegmenter, ListSource, frame
from test_app_render_sinks import make_seg

from app.outputs import OutputOptions, build_sinks
from app.pipeline import Pipeline
from app.sinks import LabelsSink, LatencyLog, OutputError, Rendered
from app.sources import BadFrame
from sgnet.frames import NO_PREDICTION, RGBDFrame


def read_ids(path) -> np.ndarray:
    ids = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert ids is not None, path
    return ids


def test_a_png_per_frame_holds_the_class_ids_as_they_are(tmp_path):
    out = tmp_path / "labels"
    sink = LabelsSink(out)
    sink.open(48, 32, 30.0)
    segs = [make_seg(i) for i in (0, 1, 7)]
    for seg in segs:
        sink.write(Rendered(seg))
    assert sink.close() == [f"labels: 3 PNGs in {out} (000000.png … 000007.png)"]
    assert sorted(p.name for p in out.iterdir()) == ["000000.png", "000001.png", "000007.png"]
    for seg in segs:
        path = out / f"{seg.frame.index:06d}.png"
        ids = read_ids(path)
        assert ids.dtype == np.uint8 and ids.shape == (32, 48)  # single channel, HxW
        assert (ids == seg.labels).all() and (ids == NO_PREDICTION).any()
        head = path.read_bytes()[:26]  # PNG signature, IHDR: width, height, bit depth, colour type
        assert head[12:16] == b"IHDR" and head[24] == 8 and head[25] == 0  # 8-bit grayscale, not a palette


def test_pipeline_bad_frames_all_255_or_no_file(tmp_path):
    """Frames that reach the sinks unlabeled (all-zero depth, rejected) are written all 255; a
    frame without a usable image (a BadFrame, a wrong size) gets no file; the log says why."""
    wrong = RGBDFrame(np.zeros((12, 16, 3), np.uint8), np.full((12, 16), 900, np.uint16), 0.001,
                      frame(0).intrinsics.scaled(16, 12), 4)
    items = [frame(0), frame(1, depth_value=0), BadFrame(2, "Depth/0002.png: no such file"), frame(3), wrong,
             frame(5)]
    out = tmp_path / "labels"
    outputs = build_sinks(OutputOptions(save_labels=str(out)), window=False)
    log = LatencyLog(tmp_path / "lat.csv")
    result = Pipeline(ListSource(items), FakeSegmenter(reject={3}), outputs.sinks, log=log).run()
    assert result.error is None
    assert sorted(p.name for p in out.iterdir()) == ["000000.png", "000001.png", "000003.png", "000005.png"]
    assert (read_ids(out / "000000.png") == 2).all()  # FakeSegmenter: depth > 0 -> class 2
    assert (read_ids(out / "000001.png") == NO_PREDICTION).all()  # all-zero depth
    assert (read_ids(out / "000003.png") == NO_PREDICTION).all()  # rejected by the segmenter
    rows = {int(r["index"]): r["bad"] for r in csv_rows(tmp_path / "lat.csv")}
    assert rows[2] and rows[4].startswith("wrong size") and rows[1] == "all-zero depth"
    assert result.sink_lines[0] == f"labels: 4 PNGs in {out} (000000.png … 000005.png)"


def test_window_gets_the_sink_too(tmp_path):
    for window in (False, True):
        sinks = build_sinks(OutputOptions(save_labels=str(tmp_path / "l")), window=window).sinks
        assert [type(s).__name__ for s in sinks] == ["LabelsSink"]


def test_older_pngs_in_the_folder_are_said(tmp_path):
    out = tmp_path / "labels"
    out.mkdir()
    for i in range(4):
        (out / f"{i:06d}.png").write_bytes(b"old")
    sink = LabelsSink(out)
    sink.open(48, 32, 30.0)
    sink.write(Rendered(make_seg(0)))
    line = sink.close()[0]
    assert line == f"labels: 1 PNG in {out} (000000.png; 3 older label PNGs from before this run also there)"


def test_full_disk_stops_with_one_line_and_leaves_no_partial_file(tmp_path, monkeypatch):
    monkeypatch.setattr("app.sinks.labels.write_all", DiskFullAfter(1500))
    out = tmp_path / "labels"
    sink = LabelsSink(out)
    sink.open(48, 32, 30.0)
    written, error = write_until_full(sink, 100, lambda i: Rendered(make_seg(i)))
    assert 0 < written < 100 and error.exit_code == 4
    assert str(error) == (f"disk full writing the label PNG {out / f'{written:06d}.png'}; it was not written "
                              f"({written} complete label PNGs kept in {out})")
    assert hidden(out) == [] and len(list(out.iterdir())) == written
    assert all(read_ids(p).shape == (32, 48) for p in out.iterdir())  # every PNG left is whole
    assert sink.close() == [f"labels: {written} PNGs in {out} (000000.png … {written - 1:06d}.png; "
                            "stopped: disk full)"]


# where the disk fills: the 4th frame's first PNG (its confidence) or its second (its labels)
@pytest.mark.parametrize("what", ["confidence PNG", "label PNG"])
def test_full_disk_with_confidence_never_leaves_a_label_png_without_its_conf_png(tmp_path, monkeypatch, what):
    from app.sinks.labels import confidence_image, encode_labels

    sizes = [(len(encode_labels(confidence_image(s.confidence, s.labels))), len(encode_labels(s.labels)))
             for s in (make_seg(i) for i in range(4))]
    budget = sum(c + lab for c, lab in sizes[:3]) + (sizes[3][0] if what == "label PNG" else 0) + 1
    monkeypatch.setattr("app.sinks.labels.write_all", DiskFullAfter(budget))
    out = tmp_path / "labels"
    sink = LabelsSink(out, confidence=True)
    sink.open(48, 32, 30.0)
    written, error = write_until_full(sink, 100, lambda i: Rendered(make_seg(i)))
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{i:06d}.png" for i in range(written)] + [f"{i:06d}_conf.png" for i in range(written)])
    assert written == 3 and hidden(out) == [] and str(error).startswith(f"disk full writing the {what} ")
    assert f"{written:06d}" in str(error) and f"({written} complete label PNGs kept in {out})" in str(error)


def test_permission_error_is_an_output_error(tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr("app.sinks.labels.write_all", refuse)
    sink = LabelsSink(tmp_path / "l")
    with pytest.raises(OutputError, match=r"^permission denied writing the label PNG .*000000\.png"):
        sink.write(Rendered(make_seg(0)))
    assert sink.close() == ["labels: none written (permission denied)"]


# --- the real command ------------------------------------------------------------------------


def test_cli_headless_writes_readable_pngs_named_as_the_latency_log(tmp_path):
    out, log = tmp_path / "pred", tmp_path / "lat.csv"
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 3, *SMALL, "--save-labels", out,
                   "--log-latency", log])
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{int(row['index']):06d}.png" for row in csv_rows(log)] == ["000000.png", "000001.png",
                                                                                 "000002.png"]
    for name in names:
        ids = read_ids(out / name)
        assert ids.dtype == np.uint8 and ids.shape == (48, 64)
        assert ((ids < 40) | (ids == NO_PREDICTION)).all() and len(np.unique(ids)) > 1  # NYU40 ids, a real scene
    assert f"sgnet-live: labels: 3 PNGs in {out} (000000.png … 000002.png)" in r.stderr


def test_confidence_pngs_beside_the_labels(tmp_path):
    out = tmp_path / "pred"
    sink = LabelsSink(out, confidence=True)
    sink.open(48, 32, 30.0)
    seg = make_seg(3)
    conf = np.linspace(0, 1, 32 * 48, dtype=np.float32).reshape(32, 48)
    conf[seg.labels == NO_PREDICTION] = 0
    seg = type(seg)(seg.frame, seg.labels, seg.timings, seg.classes, conf)
    sink.write(Rendered(seg))
    assert sink.close() == [f"labels: 1 label PNG in {out} (000003.png, each with its _conf.png)"]
    got = read_ids(out / "000003_conf.png")
    assert got.dtype == np.uint8 and got.shape == (32, 48)
    np.testing.assert_array_equal(got, np.rint(conf * 255).astype(np.uint8))
    assert got.max() == 255 and (got[seg.labels == NO_PREDICTION] == 0).all()


def test_cli_save_confidence(tmp_path):
    out = tmp_path / "pred"
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 2, *SMALL, "--save-labels", out,
                   "--save-confidence"])
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["000000.png", "000000_conf.png", "000001.png",
                                                     "000001_conf.png"]
    conf = read_ids(out / "000001_conf.png")
    assert conf.shape == (48, 64) and conf.dtype == np.uint8 and 0 < conf.mean() < 255 and len(np.unique(conf)) > 5
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 1, *SMALL, "--save-confidence"])
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "sgnet-live: error: --save-confidence saves the confidence where labels are saved: add --save-labels DIR "
        "or --save-rosbag OUT"]


def test_cli_window_writes_them_too(tmp_path):
    out = tmp_path / "pred"
    r = run(LIVE, ["--camera", "demo", "--frames", 2, *SMALL, "--save-labels", out],
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["000000.png", "000001.png"]


@pytest.mark.parametrize("case", ["file in the way", "parent is a file"])
def test_cli_checks_the_folder_before_starting(tmp_path, case):
    (tmp_path / "x").write_text("not a folder")
    target = tmp_path / "x" if case == "file in the way" else tmp_path / "x" / "labels"
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 1, *SMALL, "--save-labels", target])
    assert r.returncode == 2, r.stderr
    expected = (f"label folder {target} exists and is not a folder" if case == "file in the way"
                else f"cannot create label folder {target}: {tmp_path / 'x'} is a file, not a folder")
    assert r.stderr.strip().splitlines() == [f"sgnet-live: error: {expected}"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_cli_no_permission_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 1, *SMALL, "--save-labels", locked / "l"])
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"sgnet-live: error: cannot write label folder {locked / 'l'}: permission denied in {locked} "
        "(choose another location)"]


@pytest.fixture
def tiny_disk(nearly_full_tmpfs):
    """A 400kB tmpfs with about 3 KiB left (root only; else skipped)."""
    return nearly_full_tmpfs("400k", 3)


def test_cli_on_a_real_full_disk_stops_with_exit_4(tiny_disk):
    out = tiny_disk / "pred"
    t0 = time.monotonic()
    r = subprocess.run(LIVE + ["--camera", "demo", "--headless", "--frames", "200", "-q", *SMALL,
                               "--save-labels", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 4, (r.stdout, r.stderr, time.monotonic() - t0)
    errors = [ln for ln in r.stderr.splitlines() if "error" in ln]
    assert len(errors) == 1 and errors[0].startswith("sgnet-live: error: disk full writing the label PNG "), r.stderr
    kept = sorted(out.iterdir())
    assert f"({len(kept)} complete label PNG" in errors[0] and not [p for p in kept if p.name.startswith(".")]
    assert all(read_ids(p).shape == (48, 64) for p in kept)  # what is left is whole
