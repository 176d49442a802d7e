"""The real window on the demo source (small frames), driven with pytest-qt.

The segmenter is a stand-in that answers with the demo's ground-truth labels, so what the
window shows (legend, hover, 3D colors) can be checked against known classes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QPoint, Qt
from PyQt5.QtGui import QMouseEvent

import assets
from app.gui.launch import qt_application
from app.gui.main_window import MainWindow
from app.gui.options import GuiOptions
from app.gui.session import build_session
from app.gui.views import ClassFilter, compose
from app.live import LiveOptions
from app.render import overlay
from app.sources.base import SourceOptions
from app.sources.demo import DemoSource
from sgnet.frames import RGBDFrame, Segmentation

W, H = 64, 48
TIMINGS = {"upload": 0.5, "spatial": 0.5, "model": 3.0, "postprocess": 0.5}


class OracleSegmenter:
    """Labels = the demo clip's rendered ground truth for the frame's index."""

    model_name = "oracle"
    device = "cpu"
    precision = "fp32"

    def __init__(self, delay_s: float = 0.01) -> None:
        self.demo = DemoSource(SourceOptions(width=W, height=H))
        self.delay_s = delay_s
        self.calls = 0

    def segment(self, frame: RGBDFrame) -> Segmentation:
        self.calls += 1
        time.sleep(self.delay_s)
        return Segmentation(frame, self.demo.ground_truth(frame.index), dict(TIMINGS))


@pytest.fixture(scope="module")
def qapp_module():
    return qt_application()


def make_window(tmp_path: Path, delay_s: float = 0.01, frames: int | None = None, **gui) -> MainWindow:
    qt_application()
    source = DemoSource(SourceOptions(width=W, height=H))
    opts = LiveOptions(camera="demo", frames=frames)
    session = build_session(opts, source, OracleSegmenter(delay_s))
    window = MainWindow(session, GuiOptions(capture_dir=str(tmp_path / "captures"), **gui))
    window.show()
    window.activateWindow()
    session.start()
    return window


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(tmp_path)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.shown_count >= 2, timeout=20000)
    yield w
    w.close()


def pause_and_settle(qtbot, w: MainWindow) -> None:
    """Pause and wait until no more results arrive (a frame may be in flight)."""
    qtbot.keyClick(w, Qt.Key_Space)
    assert w.session.control.paused
    last = -1
    while last != w.shown_count:
        last = w.shown_count
        qtbot.wait(300)


def test_frames_appear_with_overlay_and_legend(window):
    seg = window.current.seg
    shown = window.image_view.image_array()
    assert shown.shape == (H, W, 3)
    np.testing.assert_array_equal(shown, overlay(seg.frame.color, seg.labels, window.alpha, classes=seg.classes))
    present = np.unique(seg.labels)
    rows = window.legend.rows
    assert sorted(r.class_id for r in rows) == sorted(int(c) for c in present)
    for r in rows:
        assert r.share == pytest.approx(np.mean(seg.labels == r.class_id))
        assert r.name == assets.class_names()[r.class_id]
    assert [r.share for r in rows] == sorted((r.share for r in rows), reverse=True)


def test_pause_stops_and_step_advances_one_frame(qtbot, window):
    pause_and_settle(qtbot, window)
    index, calls = window.current.seg.frame.index, window.session.segmenter.calls
    qtbot.wait(400)
    assert window.current.seg.frame.index == index and window.session.segmenter.calls == calls
    qtbot.keyClick(window, Qt.Key_N)
    qtbot.waitUntil(lambda: window.current.seg.frame.index == index + 1, timeout=10000)
    qtbot.keyClick(window, Qt.Key_Right)
    qtbot.waitUntil(lambda: window.current.seg.frame.index == index + 2, timeout=10000)
    qtbot.wait(400)
    assert window.current.seg.frame.index == index + 2  # one frame per step, no more
    qtbot.keyClick(window, Qt.Key_Space)
    assert not window.session.control.paused
    qtbot.waitUntil(lambda: window.current.seg.frame.index > index + 3, timeout=10000)


def test_seek_shows_the_target_frame(qtbot, window):
    pause_and_settle(qtbot, window)
    calls = window.session.segmenter.calls
    window.seek_slider.setValue(100)  # as a user drag does
    qtbot.waitUntil(lambda: window.current.seg.frame.index == 100, timeout=10000)
    assert window.position_label.text() == f"101 / {window.session.source.inner.loop}"
    qtbot.wait(300)
    # frames the source had read before the seek were skipped: only the target was segmented
    assert window.session.segmenter.calls == calls + 1
    assert window.session.meters.history()[-1].index == 100
    qtbot.keyClick(window, Qt.Key_Left)
    qtbot.waitUntil(lambda: window.current.seg.frame.index == 99, timeout=10000)
    qtbot.keyClick(window, Qt.Key_Home)
    qtbot.waitUntil(lambda: window.current.seg.frame.index == 0, timeout=10000)
    qtbot.wait(300)
    assert window.session.segmenter.calls == calls + 3


def test_screenshot_bundle_of_the_shown_frame(qtbot, window, tmp_path):
    pause_and_settle(qtbot, window)
    seg = window.current.seg
    qtbot.keyClick(window, Qt.Key_S)
    window.captures.close()  # wait for the writer thread
    folder = tmp_path / "captures" / f"frame_{seg.frame.index:06d}"
    names = {p.name for p in folder.iterdir()}
    assert names == {"color.png", "overlay.png", "labels.png", "depth.png", "cloud.ply", "meta.json"}
    labels = cv2.imread(str(folder / "labels.png"), cv2.IMREAD_UNCHANGED)  # palette PNG -> colors
    np.testing.assert_array_equal(labels[:, :, ::-1], assets.colorize(seg.labels))
    depth = cv2.imread(str(folder / "depth.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(depth, seg.frame.depth)


def test_record_writes_a_playable_video(qtbot, window, tmp_path):
    qtbot.keyClick(window, Qt.Key_R)
    path = window.session.recorder.recording
    assert path is not None and path.parent == tmp_path / "captures"
    qtbot.waitUntil(lambda: window.session.recorder.frames >= 5, timeout=20000)
    qtbot.keyClick(window, Qt.Key_R)
    assert window.session.recorder.recording is None
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    assert len(frames) >= 5 and frames[0].shape == (H, W, 3)
    assert not list(path.parent.glob(f".{path.stem}.*partial*"))  # no partial file left behind


def test_hover_reports_class_and_depth(qtbot, window):
    pause_and_settle(qtbot, window)
    seg = window.current.seg
    view = window.image_view
    rect = view.image_rect()
    x, y = 40, 30
    pos = QPoint(rect.x() + int((x + 0.5) * rect.width() / W), rect.y() + int((y + 0.5) * rect.height() / H))
    event = QMouseEvent(QEvent.MouseMove, pos, Qt.NoButton, Qt.NoButton, Qt.NoModifier)
    view.mouseMoveEvent(event)
    name = assets.class_names()[int(seg.labels[y, x])]
    metres = seg.frame.depth[y, x] * seg.frame.depth_scale
    assert window.hover_label.text() == f"x {x}, y {y}  ·  {name}  ·  {metres:.3f} m"


def test_legend_clicks_hide_and_highlight(qtbot, window):
    pause_and_settle(qtbot, window)
    seg = window.current.seg
    top = window.legend.rows[0]
    # right-click hides: that class loses its color in the overlay
    qtbot.mouseClick(window.legend, Qt.RightButton, pos=QPoint(100, 5))
    assert window.classes.hidden == {top.class_id}
    mask = seg.labels == top.class_id
    np.testing.assert_array_equal(window.image_view.image_array()[mask], seg.frame.color[mask])
    assert window.legend.rows[0].hidden
    # left click highlights (and un-hides); everything else is dimmed
    qtbot.mouseClick(window.legend, Qt.LeftButton, pos=QPoint(100, 5))
    assert window.classes == ClassFilter(frozenset(), top.class_id)
    expected = compose(seg, "overlay", window.alpha, window.classes)
    np.testing.assert_array_equal(window.image_view.image_array(), expected)
    qtbot.keyClick(window, Qt.Key_A)
    assert window.classes == ClassFilter()


def test_views_cycle_and_hha_is_computed_off_thread(qtbot, window):
    pause_and_settle(qtbot, window)
    seg = window.current.seg
    qtbot.keyClick(window, Qt.Key_4)
    assert window.view_name == "depth"
    qtbot.keyClick(window, Qt.Key_V)
    assert window.view_name == "hha"
    qtbot.waitUntil(lambda: window.hha is not None and window.hha.frame_index == seg.frame.index, timeout=30000)
    qtbot.waitUntil(lambda: "computing" not in window.image_view.caption, timeout=5000)
    np.testing.assert_array_equal(window.image_view.image_array(), window.hha.rgb)
    assert window.hha.rgb.std() > 0
    qtbot.keyClick(window, Qt.Key_V)
    assert window.view_name == "side-by-side" and window.image_view.image_array().shape == (H, 3 * W, 3)


def test_slow_paint_drops_display_frames_not_results(qtbot, window):
    done_before = window.session.meters.frames
    shown_before = window.shown_count
    time.sleep(1.0)  # the GUI thread is busy: results keep coming and replace each other
    qtbot.wait(300)
    done = window.session.meters.frames - done_before
    shown = window.shown_count - shown_before
    assert done >= 5
    assert shown < done
    assert window.session.worker.display_drops >= done - shown - 1


def test_point_cloud_renders_and_exports(qtbot, tmp_path):
    w = make_window(tmp_path, point_cloud=True, pc_stride=1)
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: w.shown_count >= 1, timeout=20000)
        qtbot.waitUntil(lambda: w.pc_view.last is not None or w.pc_view.renderer.error is not None, timeout=90000)
        assert w.pc_view.renderer.error is None
        pause_and_settle(qtbot, w)
        qtbot.waitUntil(lambda: not w.pc_view.pending, timeout=30000)
        img = w.pc_view.last.image
        assert img.ndim == 3 and img.shape[2] == 3
        lit = img.reshape(-1, 3)[img.reshape(-1, 3).any(axis=1)]
        assert len(lit) > 100  # points were drawn on the black background
        seg = w.current.seg
        colors, counts = np.unique(lit, axis=0, return_counts=True)
        exact = {tuple(int(v) for v in c): int(n) for c, n in zip(colors, counts, strict=True)}
        pal = assets.palette()
        present = set(np.unique(seg.labels).tolist())
        drawn = {c for c in range(40) if exact.get(tuple(int(v) for v in pal[c]), 0) >= 10}
        assert len(drawn & present) >= 2  # unlit points keep their exact class colors
        assert not drawn - present
        qtbot.keyClick(w, Qt.Key_E)
        w.captures.close()
        ply = tmp_path / "captures" / f"cloud_frame_{seg.frame.index:06d}.ply"
        header = ply.read_bytes().split(b"end_header\n")[0].decode()
        assert f"element vertex {int((seg.frame.depth > 0).sum())}" in header
    finally:
        w.close()


def test_close_saves_exit_screenshot_and_ends_the_pipeline(qtbot, tmp_path):
    out = tmp_path / "win.png"
    w = make_window(tmp_path, exit_screenshot=str(out))
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.shown_count >= 2, timeout=20000)
    qtbot.keyClick(w, Qt.Key_R)
    qtbot.waitUntil(lambda: w.session.recorder.frames >= 2, timeout=20000)
    qtbot.keyClick(w, Qt.Key_Q)
    assert not w.isVisible()
    img = cv2.imread(str(out))
    assert img is not None and img.shape[:2] == (w.height(), w.width())
    result = w.session.worker.result
    assert result is not None and result.reason == "window closed" and result.error is None
    assert any(line.startswith("video: ") for line in result.sink_lines)  # the recording was finalized
    assert not w.session.worker.isRunning()


def test_frame_limit_closes_the_window(qtbot, tmp_path):
    w = make_window(tmp_path, frames=4)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=20000)
    assert w.session.worker.result.reason == "frame limit"
    assert w.session.worker.result.stats.frames == 4


def test_point_cloud_unavailable_shows_a_message(qtbot):
    from app.gui.pc_view import PointCloudView
    from app.gui.pointcloud import cloud_points

    crash = (sys.executable, "-c", "import os, sys; sys.stderr.write('EGL: no display\\n'); os.abort()")
    view = PointCloudView(server=crash)  # a renderer that aborts at once, as Open3D does without a driver
    qtbot.addWidget(view)
    view.show()
    view.start()
    f = DemoSource(SourceOptions(width=W, height=H)).frame(3)
    view.show_points(cloud_points(OracleSegmenter(0).segment(f)), 3)
    qtbot.waitUntil(lambda: view.error is not None, timeout=60000)
    assert "renderer process ended" in view.error and "EGL: no display" in view.error
    assert "mesa-vulkan-drivers" in view.error
    assert not view.pending  # the window does not wait for a 3D picture that cannot come
    assert view.grab().toImage().width() > 0  # paints the message instead of crashing
    view.close_renderer()
