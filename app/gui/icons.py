"""Toolbar icons drawn with QPainter: one consistent, flat set without image files."""

from __future__ import annotations

from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

SIZE = 32
FG = QColor(215, 220, 226)
RED = QColor(235, 80, 70)


def _poly(*pts: tuple[float, float]) -> QPolygonF:
    return QPolygonF([QPointF(x * SIZE, y * SIZE) for x, y in pts])


def _draw(kind: str, p: QPainter) -> None:
    s = SIZE
    p.setPen(Qt.NoPen)
    p.setBrush(FG)
    if kind == "pause":
        p.drawRoundedRect(QRectF(0.25 * s, 0.2 * s, 0.17 * s, 0.6 * s), 2, 2)
        p.drawRoundedRect(QRectF(0.58 * s, 0.2 * s, 0.17 * s, 0.6 * s), 2, 2)
    elif kind == "play":
        p.drawPolygon(_poly((0.28, 0.18), (0.8, 0.5), (0.28, 0.82)))
    elif kind == "step":
        p.drawPolygon(_poly((0.2, 0.2), (0.62, 0.5), (0.2, 0.8)))
        p.drawRoundedRect(QRectF(0.66 * s, 0.2 * s, 0.13 * s, 0.6 * s), 2, 2)
    elif kind == "back":
        p.drawPolygon(_poly((0.8, 0.2), (0.38, 0.5), (0.8, 0.8)))
        p.drawRoundedRect(QRectF(0.21 * s, 0.2 * s, 0.13 * s, 0.6 * s), 2, 2)
    elif kind == "screenshot":  # a camera
        p.drawRoundedRect(QRectF(0.12 * s, 0.3 * s, 0.76 * s, 0.5 * s), 4, 4)
        p.drawRect(QRectF(0.36 * s, 0.2 * s, 0.28 * s, 0.12 * s))
        p.setBrush(QColor(40, 44, 50))
        p.drawEllipse(QPointF(0.5 * s, 0.55 * s), 0.15 * s, 0.15 * s)
    elif kind == "record":
        p.setBrush(RED)
        p.drawEllipse(QPointF(0.5 * s, 0.5 * s), 0.27 * s, 0.27 * s)
    elif kind == "cloud":  # a wireframe cube
        p.setPen(QPen(FG, 2.2))
        p.setBrush(Qt.NoBrush)
        front = QRectF(0.16 * s, 0.34 * s, 0.46 * s, 0.46 * s)
        back = front.translated(0.2 * s, -0.16 * s)
        p.drawRect(front)
        p.drawRect(back)
        for a, b in ((front.topLeft(), back.topLeft()), (front.topRight(), back.topRight()),
                     (front.bottomRight(), back.bottomRight()), (front.bottomLeft(), back.bottomLeft())):
            p.drawLine(a, b)
    elif kind == "export":  # an arrow out of a tray
        p.setPen(QPen(FG, 2.6, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
        p.setBrush(Qt.NoBrush)
        path = QPainterPath(QPointF(0.18 * s, 0.6 * s))
        path.lineTo(0.18 * s, 0.82 * s)
        path.lineTo(0.82 * s, 0.82 * s)
        path.lineTo(0.82 * s, 0.6 * s)
        p.drawPath(path)
        p.drawLine(QPointF(0.5 * s, 0.66 * s), QPointF(0.5 * s, 0.16 * s))
        p.drawPolyline(_poly((0.32, 0.34), (0.5, 0.16), (0.68, 0.34)))
    elif kind == "help":
        p.setPen(QPen(FG, 2.2))
        p.setBrush(Qt.NoBrush)
        p.drawEllipse(QPointF(0.5 * s, 0.5 * s), 0.34 * s, 0.34 * s)
        f = p.font()
        f.setPixelSize(int(0.46 * s))
        f.setBold(True)
        p.setFont(f)
        p.drawText(QRectF(0, 0, s, s), Qt.AlignCenter, "?")
    else:
        raise ValueError(f"no icon {kind!r}")


def icon(kind: str) -> QIcon:
    pm = QPixmap(SIZE, SIZE)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing, True)
    _draw(kind, p)
    p.end()
    return QIcon(pm)
