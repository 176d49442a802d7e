"""The main window's actions, one per entry of `app.gui.shortcuts.SHORTCUTS` (`act_<name>`)."""

from __future__ import annotations

from PyQt5.QtCore import Qt

from app.files import why_write_failed
from app.gui.captures import save_png
from app.gui.help_dialog import HelpDialog
from app.gui.pointcloud import cloud_points
from app.gui.views import GUI_VIEWS
from app.render import VIEWS


class WindowActions:
    """Mixed into `MainWindow`; uses its session, widgets and settings."""

    def act_pause(self) -> None:
        self.session.control.toggle_pause()
        self._sync_pause_action()
        self._update_hud()

    def act_step(self) -> None:
        self.session.control.step()
        self._sync_pause_action()

    def _seek_to(self, target: int) -> None:
        """Pause and show the frame at slider position `target`."""
        timeline = self.session.source.timeline
        if timeline is None:
            self._show_message("seeking needs the demo, a folder or a recording")
            return
        control = self.session.control
        control.set_paused(True)
        control.seek(min(max(target, 0), timeline.length - 1))
        self._sync_pause_action()

    def act_back(self) -> None:
        timeline = self.session.source.timeline
        pos = None if self.current is None else self.session.source.position_of(self.current.seg.frame)
        if timeline is not None and pos is not None:
            self._seek_to(pos - timeline.step)

    def act_first(self) -> None:
        self._seek_to(0)

    def act_screenshot(self) -> None:
        if self.current is None:
            self._show_message("no frame to save yet")
            return
        self.captures.bundle(self.current.seg, self.alpha)

    def act_window_png(self) -> None:
        path = self.captures.window_path()
        try:
            save_png(self, path)
        except OSError as e:  # kept for the end of the run, which then exits with the output-error status
            self.captures.failures.append(f"{why_write_failed(e)}: window PNG {path} not saved")
            self._show_message(self.captures.failures[-1])
            return
        self._show_message(f"window saved: {path}")

    def act_record(self) -> None:
        rec = self.session.recorder
        if rec.recording is not None:
            for line in rec.stop():
                self._show_message(line)
        else:
            view = self.view_name if self.view_name in VIEWS else "overlay"
            path = self.captures.video_path()
            rec.start(path, view)
            self._show_message(f"recording {view} to {path} (R stops)")
        self.actions_by_name["record"].setChecked(rec.recording is not None)
        self._update_hud()

    def act_next_view(self) -> None:
        self.set_view(GUI_VIEWS[(GUI_VIEWS.index(self.view_name) + 1) % len(GUI_VIEWS)])

    def act_prev_view(self) -> None:
        self.set_view(GUI_VIEWS[(GUI_VIEWS.index(self.view_name) - 1) % len(GUI_VIEWS)])

    def act_alpha_down(self) -> None:
        self.set_alpha(round(self.alpha - 0.1, 2))

    def act_alpha_up(self) -> None:
        self.set_alpha(round(self.alpha + 0.1, 2))

    def act_show_all(self) -> None:
        self.legend.clear_filter()

    def act_point_cloud(self) -> None:
        self.set_point_cloud(not self.pc_view.isVisible())

    def act_export_ply(self) -> None:
        if self.current is None:
            self._show_message("no frame to export yet")
            return
        seg = self.current.seg
        pts = cloud_points(seg, self.options.pc_stride, self.options.pc_max_depth, self.classes.hidden)
        self.captures.ply(pts, seg.frame.index, seg.classes)

    def act_reset_3d(self) -> None:
        self.pc_view.reset_camera()

    def act_fullscreen(self) -> None:
        self.setWindowState(self.windowState() ^ Qt.WindowFullScreen)

    def act_help(self) -> None:
        if self.help_dialog is None:
            self.help_dialog = HelpDialog(self)
        self.help_dialog.show()
        self.help_dialog.raise_()

    def act_quit(self) -> None:
        self.close()
