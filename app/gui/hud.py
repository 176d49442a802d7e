"""The performance panel: rates (capture, inference, display), where the time of a frame
goes (median per stage, as numbers and as one stacked bar), frame age and drops."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from PyQt5.QtCore import QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QFontDatabase, QPainter, QPaintEvent
from PyQt5.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.gui.rates import HudSnapshot

STAGE_COLORS = {
    "capture wait": "#6c7a89",
    "upload": "#4e9fd8",
    "spatial": "#49b38a",
    "model": "#e0824a",
    "propagate": "#8f7ee6",
    "postprocess": "#c565c7",
    "render + sinks": "#d8c34e",
}
OTHER_COLOR = "#999999"
GOOD, OK, BAD = "#5cc46b", "#e0b84a", "#e06a5a"


@dataclass(frozen=True)
class DisplayStats:
    """What only the window knows: how fast it shows results and how many it skipped."""

    display_fps: float
    display_drops: int
    display_age_ms: float | None  # arrival of the shown frame on the host -> now
    frame_index: int | None
    paused: bool
    source_fps: float
    live: bool  # a camera (or --realtime): capture should keep up with source_fps
    published: tuple[int, int] | None = None  # --publish: (messages sent, dropped for a slow subscriber)


def rate_color(fps: float, target: float) -> str:
    if target <= 0 or math.isnan(fps):
        return OK
    ratio = fps / target
    return GOOD if ratio >= 0.9 else OK if ratio >= 0.4 else BAD


def hud_html(s: HudSnapshot, d: DisplayStats) -> str:
    """The panel's text as a small HTML table (QLabel rich text)."""

    def fps(v: float, target: float) -> str:
        return f'<span style="color:{rate_color(v, target)}"><b>{v:5.1f}</b></span> fps'

    def ms(v: float | None) -> str:
        return "–" if v is None else (f"{v:6.1f} ms" if v < 1000 else f"{v / 1000:6.2f} s")

    capture = fps(s.capture_fps, d.source_fps) if d.live else f"<b>{s.capture_fps:5.1f}</b> fps"
    rows = [
        ("capture", capture),
        ("inference", fps(s.inference_fps, s.capture_fps or d.source_fps)),
        ("display", fps(d.display_fps, s.inference_fps)),
    ]
    stage_rows = [
        (f'<span style="color:{STAGE_COLORS.get(k, OTHER_COLOR)}">■</span> {html.escape(k)}', ms(v))
        for k, v in s.stages_ms.items()
    ]
    tail = []
    if s.keyframe_share is not None:  # video mode: how often the network runs
        tail.append(("keyframes", f"<b>{100 * s.keyframe_share:3.0f}</b>% · "
                                  f"<b>{s.keyframe_share * s.inference_fps:4.1f}</b> fps"))
    tail += [
        ("end to end", ms(s.e2e_ms)),
        ("frame age", ms(d.display_age_ms)),
        ("dropped", f"queue <b>{s.queue_drops}</b> · display <b>{d.display_drops}</b>"),
        *([("published", f"sent <b>{d.published[0]}</b> · dropped "
                         f'<b style="color:{BAD if d.published[1] else GOOD}">{d.published[1]}</b>')]
          if d.published is not None else []),
        ("frames", f"{s.frames}" + (f" · bad <b>{s.bad_frames}</b>" if s.bad_frames else "")
         + (f" · #{d.frame_index}" if d.frame_index is not None else "")),
    ]

    def table(items: list[tuple[str, str]]) -> str:
        cells = "".join(
            f'<tr><td style="color:#9aa3ad; padding-right:10px">{k}</td><td align="right">{v}</td></tr>'
            for k, v in items
        )
        return f'<table cellspacing="0" cellpadding="1" width="100%">{cells}</table>'

    state = '<span style="color:#e0b84a"><b>PAUSED</b> (Space resumes, N steps)</span>' if d.paused else ""
    sep = '<div style="margin:2px"></div>'
    return state + table(rows) + sep + table(stage_rows or [("latency", "–")]) + sep + table(tail)


class StageBar(QWidget):
    """One horizontal bar split in proportion to the median time of each stage."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stages: dict[str, float] = {}
        self.setFixedHeight(10)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def set_stages(self, stages: dict[str, float]) -> None:
        self.stages = dict(stages)
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, True)
        r = QRectF(self.rect())
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(60, 64, 70))
        p.drawRoundedRect(r, 3, 3)
        total = sum(v for v in self.stages.values() if v > 0)
        if total <= 0:
            return
        x = r.left()
        for name, v in self.stages.items():
            if v <= 0:
                continue
            w = r.width() * v / total
            p.setBrush(QColor(STAGE_COLORS.get(name, OTHER_COLOR)))
            p.drawRect(QRectF(x, r.top(), w, r.height()))
            x += w


class HudPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setTextFormat(Qt.RichText)
        self.label.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.bar = StageBar()
        self.bar.setToolTip("median time per stage (colors as in the table above)")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        self.last_text = ""

    def update_stats(self, s: HudSnapshot, d: DisplayStats) -> None:
        self.last_text = hud_html(s, d)
        self.label.setText(self.last_text)
        self.bar.set_stages(s.stages_ms)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(260, 300)
