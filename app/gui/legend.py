"""The legend: classes in the current frame with color swatch, name and share of pixels.

Click a row to highlight that class (everything else is dimmed; click again to clear);
click its box, or right-click the row, to hide the class (its pixels lose their color and
leave the 3D view). Hidden classes stay listed, struck through, even when they leave the
frame, so they can be shown again. Painted by hand (no item views): rows change every
frame and a click must always land on the row that is drawn under the mouse.

Names and colors are those of the results' class set (`Segmentation.classes`), handed in with
each frame's entries; a different set (other weights) clears the hidden/highlighted classes,
whose ids would mean other classes there.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt5.QtCore import QRect, QSize, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PyQt5.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.gui.views import ClassFilter
from app.render import LegendEntry
from assets.classes import ClassSet

ROW_H = 22
BOX_W = 22  # the hide/show box at the left of a row
SWATCH = 14
PAD = 6


@dataclass(frozen=True)
class LegendRow:
    class_id: int
    name: str
    rgb: tuple[int, int, int]
    share: float
    hidden: bool
    highlighted: bool


def legend_rows(entries: list[LegendEntry], classes: ClassFilter, class_set: ClassSet) -> list[LegendRow]:
    """Present classes by share, then hidden classes that are not in the frame (share 0), named and
    colored from `class_set`."""
    rows = [
        LegendRow(e.class_id, e.name, e.rgb, e.share, e.class_id in classes.hidden, e.class_id == classes.highlight)
        for e in entries
    ]
    present = {e.class_id for e in entries}
    names, pal = class_set.names, class_set.palette
    for cid in sorted(classes.hidden - present):
        name = names[cid] if cid < len(names) else f"class {cid}"
        rows.append(LegendRow(cid, name, tuple(int(v) for v in pal[cid]), 0.0, True, cid == classes.highlight))
    return rows


def share_text(share: float) -> str:
    """"12.3 %", and "<0.1 %" for a class that is present but would round to zero."""
    if 0 < share < 0.0005:
        return "<0.1 %"
    return f"{100 * share:.1f} %"


class LegendWidget(QWidget):
    """Emits `filter_changed(ClassFilter)` after every click."""

    filter_changed = pyqtSignal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        self.classes = ClassFilter()
        self.class_set: ClassSet | None = None  # of the entries shown; None before the first frame
        self.rows: list[LegendRow] = []
        self._entries: list[LegendEntry] = []

    def set_entries(self, entries: list[LegendEntry], class_set: ClassSet) -> None:
        """This frame's classes (`app.render.legend(labels, class_set)`) and the set they belong to."""
        changed = self.class_set is not None and class_set != self.class_set
        self._entries, self.class_set = entries, class_set
        if changed and self.classes.active:
            self.set_filter(ClassFilter())  # the old ids name other classes in this set
        else:
            self._set_rows(legend_rows(entries, self.classes, class_set))

    def set_filter(self, classes: ClassFilter) -> None:
        self.classes = classes
        self._set_rows(legend_rows(self._entries, classes, self.class_set) if self.class_set else [])
        self.filter_changed.emit(classes)

    def _set_rows(self, rows: list[LegendRow]) -> None:
        self.rows = rows
        self.setMinimumHeight(max(len(rows), 1) * ROW_H)  # a scroll area around it scrolls the rest
        self.update()

    def toggle_hidden(self, class_id: int) -> None:
        hidden = set(self.classes.hidden) ^ {class_id}
        highlight = None if self.classes.highlight in hidden else self.classes.highlight
        self.set_filter(ClassFilter(frozenset(hidden), highlight))

    def toggle_highlight(self, class_id: int) -> None:
        highlight = None if self.classes.highlight == class_id else class_id
        self.set_filter(ClassFilter(self.classes.hidden - {class_id}, highlight))

    def clear_filter(self) -> None:
        self.set_filter(ClassFilter())

    def row_at(self, y: int) -> LegendRow | None:
        i = y // ROW_H
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def row_rect(self, index: int) -> QRect:
        return QRect(0, index * ROW_H, self.width(), ROW_H)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(240, max(len(self.rows), 6) * ROW_H)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(180, 3 * ROW_H)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        row = self.row_at(event.pos().y())
        if row is None:
            return
        if event.button() == Qt.RightButton or event.pos().x() < BOX_W:
            self.toggle_hidden(row.class_id)
        elif event.button() == Qt.LeftButton:
            self.toggle_highlight(row.class_id)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        row = self.row_at(event.pos().y())
        if row is None:
            QToolTip.hideText()
            return
        state = "hidden" if row.hidden else ("highlighted" if row.highlighted else "shown")
        QToolTip.showText(
            event.globalPos(),
            f"{row.name} (id {row.class_id}) · {share_text(row.share)} of pixels · {state}\n"
            "click: highlight · box or right-click: hide/show",
            self,
        )

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, True)
        base = self.palette().window().color()
        text = self.palette().windowText().color()
        if not self.rows:
            p.setPen(QColor(140, 140, 140))
            p.drawText(self.rect().adjusted(PAD, 0, -PAD, 0), Qt.AlignLeft | Qt.AlignTop, "no classes yet")
            return
        bold = QFont(self.font())
        bold.setBold(True)
        for i, row in enumerate(self.rows):
            r = self.row_rect(i)
            if row.highlighted:
                p.fillRect(r, QColor(70, 110, 170, 90))
            elif i % 2:
                p.fillRect(r, base.darker(108))
            # hide/show box
            box = QRect(PAD, r.y() + (ROW_H - 12) // 2, 12, 12)
            p.setPen(QPen(text, 1))
            p.setBrush(Qt.NoBrush)
            p.drawRect(box)
            if not row.hidden:
                p.drawLine(box.left() + 2, box.center().y(), box.center().x() - 1, box.bottom() - 2)
                p.drawLine(box.center().x() - 1, box.bottom() - 2, box.right() - 2, box.top() + 2)
            # swatch
            sw = QRect(BOX_W + 2, r.y() + (ROW_H - SWATCH) // 2, SWATCH, SWATCH)
            color = QColor(*row.rgb)
            p.setPen(QPen(QColor(0, 0, 0, 120), 1))
            p.setBrush(color if not row.hidden else Qt.NoBrush)
            p.drawRoundedRect(sw, 3, 3)
            if row.hidden:
                p.setPen(QPen(color, 2))
                p.drawLine(sw.bottomLeft(), sw.topRight())
            # share: a bar in the class color behind the row, and the percentage
            color_bar = QColor(color)
            color_bar.setAlpha(70)
            p.fillRect(QRect(sw.right() + 2, r.y() + 2, int((r.width() - sw.right() - 4) * row.share), ROW_H - 4),
                       color_bar)
            pct_w = p.fontMetrics().horizontalAdvance("100.0 %")
            pct = QRect(r.right() - pct_w - PAD, r.y(), pct_w, ROW_H)
            p.setPen(text if not row.hidden else QColor(130, 130, 130))
            p.drawText(pct, Qt.AlignRight | Qt.AlignVCenter, share_text(row.share))
            # name
            name_rect = QRect(sw.right() + PAD, r.y(), pct.left() - sw.right() - 2 * PAD, ROW_H)
            f = QFont(bold if row.highlighted else self.font())
            f.setStrikeOut(row.hidden)
            p.setFont(f)
            p.drawText(name_rect, Qt.AlignLeft | Qt.AlignVCenter,
                       p.fontMetrics().elidedText(row.name, Qt.ElideRight, name_rect.width()))
            p.setFont(self.font())
