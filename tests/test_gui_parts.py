"""The window's parts that need no window: hand-over slot, playback control and the pipeline
gate, rates, views, legend rows, point cloud and orbit camera, options, shortcut docs."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import assets
from app.errors import UserError
from app.gui.control import PlaybackControl
from app.gui.legend import legend_rows, share_text
from app.gui.mailbox import LatestSlot
from app.gui.options import GuiOptions, check_display, check_gui_options
from app.gui.pointcloud import OrbitCamera, cloud_points, xyz_rgb
from app.gui.rates import PipelineMeters, RateMeter
from app.gui.shortcuts import SHORTCUTS, markdown_table
from app.gui.views import GUI_VIEWS, ClassFilter, compose
from app.pipeline import Pipeline
from app.render import legend
from app.sinks.ply import labeled_points
from app.sources import Source, SourceInfo
from app.stats import FrameRecord
from sgnet.frames import NO_PREDICTION, Intrinsics, RGBDFrame, Segmentation

K = Intrinsics(8, 6, 10.0, 10.0, 3.5, 2.5)


def frame(i: int = 0) -> RGBDFrame:
    rng = np.random.default_rng(i)
    color = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    depth = rng.integers(500, 3000, (6, 8), dtype=np.uint16)
    depth[0, 0] = 0
    return RGBDFrame(color, depth, 0.001, K, i, i * 33.3, time.monotonic_ns())


def seg_of(f: RGBDFrame) -> Segmentation:
    labels = np.zeros((6, 8), np.uint8)
    labels[:, 4:] = 1  # wall | floor
    labels[0, :2] = 5  # a little sofa
    return Segmentation(f, labels, {"model": 1.0})


# -- hand-over slot ----------------------------------------------------------------------------
def test_slot_keeps_the_newest_and_counts_replaced_items():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.take() is None
    assert slot.put(1) is False
    assert slot.put(2) is True and slot.put(3) is True
    assert slot.take() == 3 and slot.take() is None
    assert slot.dropped == 2 and slot.delivered == 1


def test_slot_wait_wakes_on_put_and_close():
    slot: LatestSlot[str] = LatestSlot()
    threading.Timer(0.05, slot.put, args=("x",)).start()
    assert slot.wait(5.0) == "x"
    threading.Timer(0.05, slot.close).start()
    t0 = time.monotonic()
    assert slot.wait(5.0) is None and time.monotonic() - t0 < 4.0


# -- playback control --------------------------------------------------------------------------
def test_control_pause_step_and_seek_staleness():
    c = PlaybackControl()
    a, b, d = object(), object(), object()
    assert c.turn(a, 0.01) == "go"
    c.set_paused(True)
    assert c.turn(a, 0.01) == "wait"
    c.step()
    assert c.turn(a, 0.01) == "go" and c.turn(b, 0.01) == "wait"  # exactly one
    c.handed_out(b)
    c.handed_out(d)
    c.seek(7)
    assert c.take_seek() == 7 and c.take_seek() is None
    assert c.turn(b, 0.01) == "skip" and c.turn(d, 0.01) == "skip"  # read before the seek
    e = object()
    c.handed_out(e)
    assert c.turn(e, 0.01) == "go"  # paused + seek = show the target frame
    assert c.turn(object(), 0.01) == "wait"


def test_control_wait_is_released_by_resume():
    c = PlaybackControl(paused=True)
    threading.Timer(0.05, c.set_paused, args=(False,)).start()
    assert c.turn(object(), 5.0) == "go"


class ListSource(Source):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    @property
    def info(self) -> SourceInfo:
        return SourceInfo("demo", "list", 8, 6, 30.0, False)

    def _start(self) -> None:
        pass

    def _stop(self) -> None:
        pass

    def _frames(self) -> Iterator:
        for i in range(self.n):
            yield frame(i)


class Labeler:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def segment(self, f: RGBDFrame) -> Segmentation:
        self.seen.append(f.index)
        return seg_of(f)


class SkipOdd:
    """A gate that drops odd frames and holds frame 4 until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.waits = 0

    def turn(self, f: RGBDFrame, timeout: float) -> str:
        if f.index % 2:
            return "skip"
        if f.index == 4 and not self.release.is_set():
            self.waits += 1
            time.sleep(min(timeout, 0.01))
            return "wait"
        return "go"


def test_pipeline_gate_skips_and_holds_frames():
    gate, seg = SkipOdd(), Labeler()
    records: list[int] = []
    p = Pipeline(ListSource(8), seg, gate=gate, on_record=lambda r, s, _: records.append(r.index))
    threading.Timer(0.2, gate.release.set).start()
    result = p.run()
    assert result.reason == "end of stream" and result.error is None
    assert seg.seen == [0, 2, 4, 6] and records == [0, 2, 4, 6]  # skipped frames leave no record
    assert gate.waits > 1


def test_pipeline_stop_ends_a_gate_wait():
    c = PlaybackControl(paused=True)
    p = Pipeline(ListSource(5), Labeler(), gate=c)
    threading.Timer(0.2, p.stop).start()
    result = p.run()
    assert result.reason == "stopped" and result.stats.frames == 0


# -- rates -------------------------------------------------------------------------------------
def test_rate_meter_steady_and_decaying():
    m = RateMeter(window_s=3.0)
    assert m.rate(0.0) == 0.0
    for i in range(31):
        m.tick(10.0 + i * 0.1)
    assert m.rate(13.05) == pytest.approx(10.0, rel=1e-6)
    assert m.rate(14.0) == pytest.approx(1.0)  # 1 s without events: at most 1 / idle
    slow = RateMeter(window_s=3.0)
    for t in (0.0, 2.0, 4.0, 6.0):
        slow.tick(t)
    assert slow.rate(6.5) == pytest.approx(0.5)  # fewer than 3 events in the window: last 3


def test_meters_snapshot_medians_and_history():
    m = PipelineMeters()
    for i in range(5):
        m.on_capture()
        m.on_record(FrameRecord(i, 0.0, stages={"upload": 1.0, "model": 10.0 + i}, render_ms=1.0, sink_ms=2.0,
                                e2e_ms=20.0 + i, queue_drops=i))
    m.on_record(FrameRecord(5, 0.0, bad="all-zero depth", queue_drops=5))
    s = m.snapshot()
    assert s.frames == 6 and s.bad_frames == 1 and s.queue_drops == 5
    assert s.stages_ms["model"] == 12.0 and s.stages_ms["render + sinks"] == 3.0 and s.e2e_ms == 22.0
    assert [r.index for r in m.history()] == [0, 1, 2, 3, 4]
    assert s.keyframe_share is None and list(s.stages_ms)[:3] == ["capture wait", "upload", "model"]


def test_hud_shows_the_keyframe_share_in_video_mode():
    from app.gui.hud import DisplayStats, hud_html

    m = PipelineMeters()
    for i in range(6):
        key = i % 3 == 0
        m.on_record(FrameRecord(i, 0.0, stages={"model": 10.0 if key else 0.0, "propagate": 0.0 if key else 2.0},
                                keyframe=key))
    s = m.snapshot()
    assert s.keyframe_share == pytest.approx(1 / 3) and list(s.stages_ms)[1:3] == ["model", "propagate"]
    text = hud_html(s, DisplayStats(30.0, 0, None, 5, False, 30.0, False))
    assert "keyframes" in text and " 33</b>%" in text and "published" not in text
    published = hud_html(s, DisplayStats(30.0, 0, None, 5, False, 30.0, False, published=(12, 3)))
    assert "published" in published and "sent <b>12</b>" in published and ">3</b>" in published


# -- views and legend ----------------------------------------------------------------------------
def test_confidence_view():
    s = seg_of(frame())
    assert (compose(s, "confidence", 0.5) == 128).all()  # no confidence given: grey, never a fake certainty
    conf = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (6, 1))
    labels = np.array(s.labels)
    labels[5, 7] = NO_PREDICTION
    img = compose(Segmentation(s.frame, labels, {}, confidence=conf), "confidence", 0.5)
    brightness = img.astype(int).sum(axis=2)
    assert (np.diff(brightness[0]) > 0).all()  # INFERNO: brighter with confidence
    assert (img[5, 7] == 0).all() and img[0, 7].tolist() != img[0, 0].tolist()


def test_compose_views_and_class_filter():
    s = seg_of(frame())
    c = s.frame.color
    for name in GUI_VIEWS:
        img = compose(s, name, 0.5, hha_rgb=np.full((6, 8, 3), 9, np.uint8))
        assert img.dtype == np.uint8 and img.shape == ((6, 24, 3) if name == "side-by-side" else (6, 8, 3))
    np.testing.assert_array_equal(compose(s, "color", 0.5), c)
    np.testing.assert_array_equal(compose(s, "labels", 0.5), assets.colorize(s.labels))
    hidden = compose(s, "overlay", 0.5, ClassFilter(frozenset({1})))
    np.testing.assert_array_equal(hidden[:, 4:], c[:, 4:])  # a hidden class keeps the plain image
    assert not np.array_equal(hidden[1:, :4], c[1:, :4])
    lab = compose(s, "labels", 0.5, ClassFilter(frozenset({1})))
    assert (lab[:, 4:] == assets.palette()[NO_PREDICTION]).all()
    hi = compose(s, "color", 0.5, ClassFilter(highlight=5))
    np.testing.assert_array_equal(hi[0, :2], c[0, :2])
    np.testing.assert_array_equal(hi[3, :], (c[3, :] * 0.3).astype(np.uint8))
    with pytest.raises(ValueError, match="unknown view"):
        compose(s, "thermal", 0.5)


def test_legend_rows_keep_hidden_classes_listed():
    s = seg_of(frame())
    rows = legend_rows(legend(s.labels, s.classes), ClassFilter(frozenset({1, 7}), highlight=5), s.classes)
    assert [r.class_id for r in rows] == [1, 0, 5, 7]  # by share, then hidden absent classes
    assert [r.hidden for r in rows] == [True, False, False, True]
    assert rows[2].highlighted and rows[3].share == 0.0
    assert rows[3].name == assets.class_names()[7]
    assert [share_text(v) for v in (0.5, 0.0004, 0.0, 0.0006)] == ["50.0 %", "<0.1 %", "0.0 %", "0.1 %"]


# -- point cloud -------------------------------------------------------------------------------
def test_cloud_points_stride_depth_cut_and_hidden_classes():
    s = seg_of(frame())
    full = labeled_points(s.frame.depth_m(), s.labels, K, assets.palette())
    assert cloud_points(s, 1, None).tobytes() == full.tobytes()
    strided = cloud_points(s, 2, None)
    # every strided point is the full-resolution point of the same pixel
    full_xyz = {tuple(np.round(p, 5)) for p in xyz_rgb(full)[0]}
    assert strided.size == int((s.frame.depth[::2, ::2] > 0).sum())
    assert all(tuple(np.round(p, 5)) in full_xyz for p in xyz_rgb(strided)[0])
    near = cloud_points(s, 1, 1.5)
    assert near.size == int(((s.frame.depth > 0) & (s.frame.depth <= 1500)).sum()) and (near["z"] <= 1.5).all()
    no_wall = cloud_points(s, 1, None, frozenset({0}))
    assert 0 not in set(no_wall["label"].tolist())
    assert no_wall.size == int(((s.labels != 0) & (s.frame.depth > 0)).sum())
    with pytest.raises(ValueError, match="stride"):
        cloud_points(s, 0)


def test_orbit_camera_frames_and_moves():
    xyz = np.array([[x, y, 3.0] for x in (-1.0, 0.0, 1.0) for y in (-1.0, 0.0, 1.0)])
    cam = OrbitCamera.looking_at(xyz, aspect=1.0)
    assert cam.target == (0.0, 0.0, 3.0)
    eye = np.array(cam.eye())
    assert np.linalg.norm(eye - cam.target) == pytest.approx(cam.distance)
    half = math.radians(cam.fov_deg) / 2
    assert cam.distance * math.tan(half) >= 1.0  # the spread fits the field of view
    assert OrbitCamera.looking_at(xyz, aspect=0.5).distance > cam.distance  # narrower viewport: farther
    flat = OrbitCamera(yaw=0.0, pitch=0.0, distance=2.0, target=(0.0, 0.0, 3.0))
    assert flat.eye() == pytest.approx((0.0, 0.0, 1.0))  # from the sensor's side
    assert flat.orbited(0, -1000).pitch == pytest.approx(math.radians(85))  # clamped
    assert flat.zoomed(1).distance == pytest.approx(1.7) and flat.zoomed(-100).distance > 2.0
    assert flat.zoomed(100).distance == pytest.approx(0.2)


# -- options and docs --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pc_stride": 0}, "--pc-stride"),
        ({"pc_max_depth": -1.0}, "--pc-max-depth"),
        ({"view": "thermal"}, "view must be one of"),
        ({"exit_screenshot": "shot.jpg"}, "must end in .png"),
        ({"exit_screenshot": "/nonexistent-dir/shot.png"}, "does not exist"),
    ],
)
def test_gui_option_mistakes_are_one_line_errors(tmp_path, change, message):
    opts = GuiOptions(capture_dir=str(tmp_path / "c"), **change)
    with pytest.raises(UserError, match=message):
        check_gui_options(opts)


def test_no_display_says_what_to_do(monkeypatch):
    monkeypatch.setattr("sys.platform", "linux")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UserError, match="--headless"):
        check_display()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    check_display()


def test_shortcuts_are_unique_and_documented():
    keys = [k for s in SHORTCUTS for k in s.keys]
    assert len(keys) == len(set(keys))
    doc = (Path(__file__).resolve().parents[1] / "docs" / "gui.md").read_text(encoding="utf-8")
    assert markdown_table() in doc  # docs/gui.md carries the table the help dialog shows
