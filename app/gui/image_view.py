"""A widget that shows an RGB numpy image scaled to fit (aspect kept) and reports which image
pixel the mouse is over."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QPoint, QRect, QSize, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent
from PyQt5.QtWidgets import QSizePolicy, QWidget


def to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage sharing `rgb`'s memory (keep the array alive as long as the image)."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected a uint8 HxWx3 RGB image, got {rgb.dtype} {rgb.shape}")
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format_RGB888)


def fit_rect(image: QSize, area: QRect) -> QRect:
    """The largest rectangle with `image`'s aspect ratio centred in `area`."""
    if image.isEmpty() or area.isEmpty():
        return QRect()
    scaled = image.scaled(area.size(), Qt.KeepAspectRatio)
    x = area.x() + (area.width() - scaled.width()) // 2
    y = area.y() + (area.height() - scaled.height()) // 2
    return QRect(QPoint(x, y), scaled)


class ImageView(QWidget):
    """`hovered(x, y)` gives the image pixel under the mouse, (-1, -1) when off the image."""

    hovered = pyqtSignal(int, int)

    def __init__(self, parent: QWidget | None = None, placeholder: str = "waiting for the first frame…") -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(160, 120)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self.placeholder = placeholder
        self.caption = ""
        self._last_hover = (-1, -1)

    def set_image(self, rgb: np.ndarray) -> None:
        self._array = np.ascontiguousarray(rgb)
        self._image = to_qimage(self._array)
        self.update()

    def image_array(self) -> np.ndarray | None:
        return self._array

    def image_rect(self) -> QRect:
        if self._image is None:
            return QRect()
        return fit_rect(self._image.size(), self.rect())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(640, 480)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(17, 19, 23))
        if self._image is None:
            p.setPen(QColor(150, 155, 165))
            p.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.placeholder)
            return
        target = self.image_rect()
        p.setRenderHint(QPainter.SmoothPixmapTransform, True)
        p.drawImage(target, self._image)
        if self.caption:
            f = QFont(self.font())
            f.setPointSizeF(f.pointSizeF() * 0.95)
            p.setFont(f)
            box = p.fontMetrics().boundingRect(self.caption).adjusted(-6, -3, 6, 3)
            box.moveTopLeft(target.topLeft() + QPoint(6, 6))
            p.fillRect(box, QColor(0, 0, 0, 150))
            p.setPen(QColor(235, 235, 235))
            p.drawText(box, Qt.AlignCenter, self.caption)

    def pixel_at(self, pos: QPoint) -> tuple[int, int]:
        """Image pixel (x, y) under widget position `pos`, (-1, -1) if none."""
        if self._image is None:
            return (-1, -1)
        r = self.image_rect()
        if r.isEmpty() or not r.contains(pos):
            return (-1, -1)
        x = int((pos.x() - r.x()) * self._image.width() / r.width())
        y = int((pos.y() - r.y()) * self._image.height() / r.height())
        return (min(max(x, 0), self._image.width() - 1), min(max(y, 0), self._image.height() - 1))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self._last_hover = self.pixel_at(event.pos())
        self.hovered.emit(*self._last_hover)

    def leaveEvent(self, _event: object) -> None:  # noqa: N802 - Qt API
        self._last_hover = (-1, -1)
        self.hovered.emit(-1, -1)

    @property
    def hover_pixel(self) -> tuple[int, int]:
        return self._last_hover
