"""The 3D panel: shows what `CloudRenderer` drew; drag to orbit, wheel to zoom, double-click
to reset the view. Clouds go to the renderer (a thread and a process); pictures come back by
a queued signal."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QObject, QPoint, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QResizeEvent, QWheelEvent
from PyQt5.QtWidgets import QSizePolicy, QWidget

from app.gui.image_view import fit_rect, to_qimage
from app.gui.pc_renderer import SERVER, CloudImage, CloudRenderer
from app.gui.pointcloud import OrbitCamera, xyz_rgb

RESIZE_DEBOUNCE_MS = 200


class _Bridge(QObject):
    image = pyqtSignal(object)
    error = pyqtSignal(str)


class PointCloudView(QWidget):
    """`rendered` is emitted (GUI thread) after each new picture."""

    rendered = pyqtSignal()

    def __init__(self, parent: QWidget | None = None, point_size: float = 3.0,
                 server: tuple[str, ...] = SERVER) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(200, 150)
        self.setCursor(Qt.OpenHandCursor)
        self._bridge = _Bridge()
        self._bridge.image.connect(self._on_image, Qt.QueuedConnection)
        self._bridge.error.connect(self._on_error, Qt.QueuedConnection)
        self.renderer = CloudRenderer(self._bridge.image.emit, self._bridge.error.emit, point_size, server)
        self.last: CloudImage | None = None
        self._image = None
        self.error: str | None = None
        self._drag: QPoint | None = None
        self._framed = False  # camera placed for the first cloud
        self._points: np.ndarray | None = None
        self._submitted = 0  # version of the newest cloud handed to the renderer
        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.timeout.connect(self._send_size)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._send_size()
            self.renderer.start()

    def close_renderer(self) -> None:
        self.renderer.close()

    def show_points(self, points: np.ndarray, frame_index: int | None) -> None:
        self._points = points
        if not self._framed and points.size:
            self._framed = True
            self.reset_camera()
        self._submitted = self.renderer.submit(points, frame_index)

    def reset_camera(self) -> None:
        if self._points is not None and self._points.size:
            aspect = self.width() / max(self.height(), 1)
            self.renderer.set_camera(OrbitCamera.looking_at(xyz_rgb(self._points)[0], aspect))

    @property
    def pending(self) -> bool:
        """The newest submitted cloud is not on screen yet (and can still get there)."""
        shown = 0 if self.last is None else self.last.version
        return self.renderer.error is None and self._submitted > shown

    # -- Qt events --------------------------------------------------------------------------
    def _on_image(self, img: CloudImage) -> None:
        self.last = img
        self._image = to_qimage(img.image)
        self.update()
        self.rendered.emit()

    def _on_error(self, message: str) -> None:
        self.error = message
        self.update()

    def _send_size(self) -> None:
        self.renderer.resize(self.width(), self.height())

    def resizeEvent(self, _event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        self._resize_timer.start(RESIZE_DEBOUNCE_MS)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.LeftButton:
            self._drag = event.pos()
            self.setCursor(Qt.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._drag is None:
            return
        d = event.pos() - self._drag
        self._drag = event.pos()
        self.renderer.set_camera(self.renderer.camera.orbited(d.x(), d.y()))

    def mouseReleaseEvent(self, _event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self._drag = None
        self.setCursor(Qt.OpenHandCursor)

    def mouseDoubleClickEvent(self, _event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self.reset_camera()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        self.renderer.set_camera(self.renderer.camera.zoomed(event.angleDelta().y() / 120.0))

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(0, 0, 0))
        if self.error:
            p.setPen(QColor(230, 140, 120))
            p.drawText(self.rect().adjusted(16, 16, -16, -16), Qt.AlignCenter | Qt.TextWordWrap,
                       f"3D view unavailable\n\n{self.error}")
            return
        if self._image is None:
            p.setPen(QColor(150, 155, 165))
            p.drawText(self.rect(), Qt.AlignCenter, "starting the 3D view…")
            return
        p.setRenderHint(QPainter.SmoothPixmapTransform, True)
        p.drawImage(fit_rect(self._image.size(), self.rect()), self._image)
        last = self.last
        if last is not None:
            area = self.rect().adjusted(8, 6, -8, -6)
            fm = p.fontMetrics()
            text = (f"{last.points:,} points · frame {last.frame_index} · {last.render_ms:.0f} ms"
                    f" · skipped {self.renderer.dropped}")
            p.setPen(QColor(200, 205, 210))
            p.drawText(area, Qt.AlignLeft | Qt.AlignTop, fm.elidedText(text, Qt.ElideRight, area.width()))
            p.setPen(QColor(130, 135, 140))
            hint = "drag: orbit · wheel: zoom · double-click: reset"
            p.drawText(area, Qt.AlignLeft | Qt.AlignBottom, fm.elidedText(hint, Qt.ElideRight, area.width()))
