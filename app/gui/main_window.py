"""The main window: live view, 3D view, performance panel, legend, controls.

Results arrive from the pipeline thread through `PipelineWorker` (a queued signal and a
newest-wins slot), so a slow paint skips display frames, never inference results. Closing
the window is the one way out: it grabs the exit screenshot, stops the pipeline (which
finalizes every sink), and stops the 3D renderer and the HHA and capture threads. The
widgets are built in `WindowLayout`, the shortcut actions live in `WindowActions`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QCloseEvent

from app.files import why_write_failed
from app.gui.captures import CaptureWriter, save_png
from app.gui.help_dialog import HelpDialog
from app.gui.hha_worker import HhaImage, HhaWorker
from app.gui.hud import DisplayStats
from app.gui.icons import icon
from app.gui.options import GuiOptions, exit_screenshot_path
from app.gui.pointcloud import cloud_points
from app.gui.rates import RateMeter
from app.gui.session import Session
from app.gui.views import GUI_VIEWS, VIEW_TITLES, ClassFilter, compose, panels
from app.gui.window_actions import WindowActions
from app.gui.window_layout import WindowLayout
from app.gui.worker import DisplayItem
from app.render import legend
from sgnet.frames import NO_PREDICTION

HUD_EVERY_MS = 250
CLOSE_POLL_MS = 50
CLOSE_WAIT_3D_S = 20.0  # at the frame limit, wait this long at most for the last 3D picture


class MainWindow(WindowActions, WindowLayout):
    """`shown` is emitted after each new frame is displayed (tests wait on it)."""

    shown = pyqtSignal()
    message = pyqtSignal(str)  # from worker threads to the status bar
    _hha_signal = pyqtSignal(object)  # HhaImage from the HHA thread

    def __init__(self, session: Session, options: GuiOptions) -> None:
        super().__init__()
        self.session = session
        self.options = options
        self.view_name = options.view
        self.alpha = options.alpha
        self.classes = ClassFilter()
        self.current: DisplayItem | None = None
        self.shown_age_ms: float | None = None  # host arrival -> on screen, of the shown frame
        self._auto_split = True  # fit the 2D / 3D split to the frame until the user drags it
        self.hha: HhaImage | None = None
        self.display_meter = RateMeter()
        self.shown_count = 0
        self.result = None  # RunResult once the pipeline ended
        self.exit_screenshot_saved: Path | None = None
        self.exit_screenshot_error: str | None = None
        self._closed = False
        self._close_deadline = 0.0
        info = session.info
        self.setWindowTitle(f"sgnet-live — {info.description}")
        self.captures = CaptureWriter(Path(options.capture_dir).expanduser(), self.message.emit, self.message.emit)
        self.hha_worker = HhaWorker(self._hha_ready_threadsafe, self.message.emit)

        self._build_actions()
        self._build_layout()
        self._build_toolbar()
        self._build_statusbar()
        self.message.connect(self._show_message, Qt.QueuedConnection)
        self._hha_signal.connect(self._on_hha, Qt.QueuedConnection)

        w = session.worker
        w.bridge.result_ready.connect(self._on_result, Qt.QueuedConnection)
        w.bridge.finished.connect(self._on_finished, Qt.QueuedConnection)
        self.hud_timer = QTimer(self)
        self.hud_timer.timeout.connect(self._update_hud)
        self.hud_timer.start(HUD_EVERY_MS)
        self._close_timer = QTimer(self)
        self._close_timer.timeout.connect(self._close_when_ready)
        self.help_dialog: HelpDialog | None = None
        self.set_point_cloud(options.point_cloud)
        self._sync_pause_action()
        self.resize(1280, 720)

    # -- results ------------------------------------------------------------------------------
    def _on_result(self) -> None:
        item = self.session.worker.slot.take()
        if item is None or self._closed:
            return
        self.current = item
        arrived = item.seg.frame.arrived_ns
        self.shown_age_ms = (time.monotonic_ns() - arrived) / 1e6 if arrived else None
        self.display_meter.tick()
        self.shown_count += 1
        seg = item.seg
        self.refresh_view()
        if seg.classes != self.legend.class_set:
            self.legend_heading.setText(f"Classes in view · {seg.classes.title}")
            self.legend_heading.setToolTip(f"{seg.classes.describe()}: the class set of the model's labels")
        self.legend.set_entries(legend(seg.labels, seg.classes), seg.classes)
        if self.pc_view.isVisible():
            self._submit_cloud()
        self._update_position()
        self._on_hover(*self.image_view.hover_pixel)
        self.shown.emit()

    def refresh_view(self) -> None:
        item = self.current
        if item is None:
            return
        seg = item.seg
        hha_rgb = None
        if self.view_name == "hha":
            if self.hha is None or self.hha.frame_index != seg.frame.index:
                self.hha_worker.request(seg.frame)
            if self.hha is not None and self.hha.rgb.shape[:2] == seg.labels.shape:
                hha_rgb = self.hha.rgb
        img = compose(seg, self.view_name, self.alpha, self.classes, hha_rgb)
        self.image_view.caption = self._caption(seg.frame.index, hha_rgb)
        self.image_view.set_image(img)

    def _caption(self, index: int, hha_rgb: np.ndarray | None) -> str:
        title = VIEW_TITLES[self.view_name]
        if self.view_name == "hha":
            if hha_rgb is None:
                title += " (computing…, depth shown)"
            elif self.hha is not None and self.hha.frame_index != index:
                title += f" of frame {self.hha.frame_index}"
        if self.view_name == "side-by-side":
            title = "Color | Labels | Depth"
        return f"{title} · frame {index}"

    def _submit_cloud(self) -> None:
        if self.current is None:
            return
        seg = self.current.seg
        pts = cloud_points(seg, self.options.pc_stride, self.options.pc_max_depth, self.classes.hidden)
        self.pc_view.show_points(pts, seg.frame.index)

    def _on_finished(self, result: object) -> None:
        self._update_hud()
        self.result = result
        self.hud_timer.stop()
        reason = getattr(result, "reason", "ended")
        if reason in ("frame limit", "error"):
            frames = getattr(getattr(result, "stats", None), "frames", 0)
            self._show_message(f"finished: {frames} frames ({reason}); closing")
            self._close_deadline = time.monotonic() + CLOSE_WAIT_3D_S
            self._close_timer.start(CLOSE_POLL_MS)
        elif reason != "window closed":
            self._show_message(f"finished ({reason}): the last frame stays on screen; Q quits")
        self._sync_pause_action()

    def _close_when_ready(self) -> None:
        """At the frame limit: close once the 3D view drew the last cloud (or gave up)."""
        if self.pc_view.isVisible() and self.pc_view.pending and time.monotonic() < self._close_deadline:
            return
        self._close_timer.stop()
        self.close()

    # -- HUD, hover, status -------------------------------------------------------------------
    def display_stats(self) -> DisplayStats:
        item = self.current
        return DisplayStats(
            display_fps=self.display_meter.rate(),
            display_drops=self.session.worker.display_drops,
            display_age_ms=self.shown_age_ms,
            frame_index=None if item is None else item.seg.frame.index,
            paused=self.session.control.paused,
            source_fps=self.session.info.fps,
            live=self.session.info.live,
            published=self._published(),
        )

    def _published(self) -> tuple[int, int] | None:
        """--publish: messages sent and dropped so far (a subscriber not keeping up), for the HUD."""
        for sink in self.session.pipeline.sinks:
            if getattr(sink, "name", "") == "publish":
                return sink.sent, sink.dropped
        return None

    def _update_hud(self) -> None:
        if self.result is not None:
            return  # the run ended: keep its last numbers (rates would decay to zero)
        self.hud.update_stats(self.session.meters.snapshot(), self.display_stats())
        self.plot.set_records(self.session.meters.history())
        rec = self.session.recorder.recording
        self.rec_label.setText(f"● REC {rec.name} · {self.session.recorder.frames} frames" if rec else "")

    def _on_hover(self, x: int, y: int) -> None:
        self.hover_label.setText(self.hover_text(x, y))

    def hover_text(self, x: int, y: int) -> str:
        """What the status bar says about image pixel (x, y) of the current view."""
        item = self.current
        if item is None or x < 0 or y < 0:
            return "hover the image for class and depth"
        seg = item.seg
        w = seg.frame.width
        fx = x % w if panels(self.view_name) > 1 else x
        if fx >= w or y >= seg.frame.height:
            return ""
        lab = int(seg.labels[y, fx])
        names = seg.classes.names
        name = "no prediction" if lab == NO_PREDICTION else (names[lab] if lab < len(names) else f"class {lab}")
        raw = int(seg.frame.depth[y, fx])
        depth = f"{raw * seg.frame.depth_scale:.3f} m" if raw else "no depth"
        hidden = " (hidden)" if lab in self.classes.hidden else ""
        if seg.confidence is not None and lab != NO_PREDICTION:
            hidden += f" {100 * float(seg.confidence[y, fx]):.0f}%"
        return f"x {fx}, y {y}  ·  {name}{hidden}  ·  {depth}"

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    # -- settings -------------------------------------------------------------------------------
    def set_view(self, name: str) -> None:
        if name not in GUI_VIEWS:
            raise ValueError(f"unknown view {name!r}")
        self.view_name = name
        self.view_combo.blockSignals(True)
        self.view_combo.setCurrentIndex(GUI_VIEWS.index(name))
        self.view_combo.blockSignals(False)
        self._fit_split()
        self.refresh_view()

    def set_alpha(self, alpha: float) -> None:
        self.alpha = min(max(alpha, 0.0), 1.0)
        self.session.pipeline.alpha = self.alpha  # recorded videos use the same opacity
        self.alpha_slider.blockSignals(True)
        self.alpha_slider.setValue(round(self.alpha * 100))
        self.alpha_slider.blockSignals(False)
        self.refresh_view()

    def set_point_cloud(self, on: bool) -> None:
        self.pc_view.setVisible(on)
        self._fit_split()
        act = self.actions_by_name["point_cloud"]
        act.blockSignals(True)
        act.setChecked(on)
        act.blockSignals(False)
        if on:
            self.pc_view.start()
            self._fit_split()
            self._submit_cloud()
    def _on_filter(self, classes: ClassFilter) -> None:
        self.classes = classes
        self.refresh_view()
        if self.pc_view.isVisible():
            self._submit_cloud()
        self._on_hover(*self.image_view.hover_pixel)

    def _hha_ready_threadsafe(self, img: HhaImage) -> None:
        self._hha_signal.emit(img)

    def _on_hha(self, img: HhaImage) -> None:
        self.hha = img
        if self.view_name == "hha":
            self.refresh_view()

    def _on_seek(self, value: int) -> None:
        self.session.control.seek(value)

    def _update_position(self) -> None:
        item = self.current
        if item is None:
            return
        source = self.session.source
        pos = source.position_of(item.seg.frame)
        if pos is None or source.timeline is None:
            self.position_label.setText(f"frame {item.seg.frame.index}")
            return
        if not self.seek_slider.isSliderDown():
            self.seek_slider.blockSignals(True)
            self.seek_slider.setValue(pos)
            self.seek_slider.blockSignals(False)
        t = source.timeline
        if t.unit == "frame":
            self.position_label.setText(f"{pos + 1} / {t.length}")
        else:
            self.position_label.setText(f"{pos / 1000:.1f} / {t.length / 1000:.1f} s")

    def _sync_pause_action(self) -> None:
        act = self.actions_by_name["pause"]
        paused = self.session.control.paused
        act.setText("Resume" if paused else "Pause")
        act.setIcon(icon("play" if paused else "pause"))
    # -- shutdown -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Exit screenshot, then stop everything (idempotent): the pipeline finalizes its sinks."""
        if self._closed:
            return
        self._closed = True
        self._close_timer.stop()
        self.hud_timer.stop()
        path = exit_screenshot_path(self.options)
        if path is not None:
            self._update_hud()
            try:
                save_png(self, path)
                self.exit_screenshot_saved = path
            except OSError as e:  # said at the end of the run, which then exits with the output-error status
                self.exit_screenshot_error = f"{why_write_failed(e)} writing the exit screenshot {path}; not written"
        self.session.shutdown()
        self.result = self.session.worker.result
        self.pc_view.close_renderer()
        self.hha_worker.close()
        self.captures.close()
        if self.help_dialog is not None:
            self.help_dialog.close()

