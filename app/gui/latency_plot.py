"""Per-frame latency of the recent frames as stacked bars (one color per stage), so stalls,
warm-up and jitter are visible at a glance, not only the medians of the HUD."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QPainter, QPaintEvent, QPen
from PyQt5.QtWidgets import QSizePolicy, QWidget

from app.gui.hud import OTHER_COLOR, STAGE_COLORS
from app.stats import FrameRecord, stage_names

LEFT, RIGHT, TOP, BOTTOM = 52, 10, 26, 18


def stage_matrix(records: list[FrameRecord]) -> tuple[list[str], np.ndarray]:
    """(stage names, array frames x stages in ms) with the model stages first, then render + sinks."""
    names = stage_names(records) + ["render + sinks"]
    m = np.zeros((len(records), len(names)), np.float64)
    for i, r in enumerate(records):
        for j, k in enumerate(names[:-1]):
            m[i, j] = r.stages.get(k, 0.0)
        m[i, -1] = r.render_ms + r.sink_ms
    return names, m


def nice_ceiling(v: float) -> float:
    """The next 1, 2 or 5 x 10^k at or above v (axis maximum)."""
    if v <= 0:
        return 1.0
    exp = 10 ** np.floor(np.log10(v))
    for m in (1, 2, 5, 10):
        if m * exp >= v:
            return float(m * exp)
    return float(10 * exp)


class LatencyPlot(QWidget):
    def __init__(self, parent: QWidget | None = None, capacity: int = 150) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self.records: list[FrameRecord] = []
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumHeight(90)

    def set_records(self, records: list[FrameRecord]) -> None:
        self.records = records[-self.capacity:]
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(600, 140)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 26, 30))
        area = QRectF(LEFT, TOP, max(self.width() - LEFT - RIGHT, 1), max(self.height() - TOP - BOTTOM, 1))
        p.setPen(QColor(154, 163, 173))
        p.drawText(QRectF(LEFT, 2, self.width() - LEFT - RIGHT, TOP - 6), Qt.AlignRight | Qt.AlignVCenter,
                   f"latency per frame (ms), last {self.capacity} frames")
        if not self.records:
            p.drawText(area, Qt.AlignCenter, "no frames yet")
            return
        names, m = stage_matrix(self.records)
        totals = m.sum(axis=1)
        top = nice_ceiling(float(np.percentile(totals, 98)) * 1.05)
        # grid and axis labels
        for frac in (0.0, 0.5, 1.0):
            y = area.bottom() - frac * area.height()
            p.setPen(QPen(QColor(60, 64, 70), 1, Qt.DotLine))
            p.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            p.setPen(QColor(140, 146, 154))
            label = f"{top * frac:.0f}" if top * frac >= 10 or frac == 0 else f"{top * frac:.1f}"
            p.drawText(QRectF(0, y - 8, LEFT - 6, 16), Qt.AlignRight | Qt.AlignVCenter, label)
        bar_w = area.width() / self.capacity
        x0 = area.right() - len(self.records) * bar_w
        p.setPen(Qt.NoPen)
        colors = [QColor(STAGE_COLORS.get(n, OTHER_COLOR)) for n in names]
        for i in range(len(self.records)):
            y = area.bottom()
            x = x0 + i * bar_w
            for j, v in enumerate(m[i]):
                if v <= 0:
                    continue
                h = min(v, max(top - (area.bottom() - y) / area.height() * top, 0)) / top * area.height()
                p.setBrush(colors[j])
                p.drawRect(QRectF(x, y - h, max(bar_w - 1, 1), h))
                y -= h
        p.setPen(QColor(140, 146, 154))
        p.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), BOTTOM - 2), Qt.AlignRight | Qt.AlignTop,
                   f"frame {self.records[-1].index}")
