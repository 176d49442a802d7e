"""How the main window is put together: actions with their shortcuts, toolbar, the
2D | 3D | latency-plot area, the side panel and the status bar, and how the 2D / 3D split
follows the frame's shape."""

from __future__ import annotations

from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QComboBox,
    QFrame,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.gui.hud import HudPanel
from app.gui.icons import icon
from app.gui.image_view import ImageView
from app.gui.latency_plot import LatencyPlot
from app.gui.legend import LegendWidget
from app.gui.pc_view import PointCloudView
from app.gui.shortcuts import SHORTCUTS
from app.gui.views import GUI_VIEWS, VIEW_TITLES, panels

SIDEBAR_W = 290
PLOT_MIN_H, PLOT_MAX_H = 110, 180  # latency plot height under the views


class WindowLayout(QMainWindow):
    """Widgets and actions of `MainWindow` (which holds the state and the behaviour)."""

    def _build_actions(self) -> None:
        icons = {"pause": "pause", "step": "step", "back": "back", "screenshot": "screenshot", "record": "record",
                 "point_cloud": "cloud", "export_ply": "export", "help": "help"}
        self.actions_by_name: dict[str, QAction] = {}
        for sc in SHORTCUTS:
            act = QAction(sc.text, self)
            act.setShortcuts([QKeySequence(k) for k in sc.keys])
            act.setShortcutContext(Qt.WindowShortcut)
            act.setToolTip(f"{sc.help} ({' / '.join(sc.keys)})")
            if sc.action in icons:
                act.setIcon(icon(icons[sc.action]))
            act.triggered.connect(getattr(self, f"act_{sc.action}") if not sc.action.startswith("view_")
                                  else (lambda _=False, n=int(sc.action[5:]) - 1: self.set_view(GUI_VIEWS[n])))
            self.addAction(act)
            self.actions_by_name[sc.action] = act
        for name in ("record", "point_cloud"):
            self.actions_by_name[name].setCheckable(True)

    def _build_layout(self) -> None:
        self.image_view = ImageView()
        self.image_view.hovered.connect(self._on_hover)
        self.pc_view = PointCloudView(point_size=max(2.0, min(5.0, 1.0 + self.options.pc_stride)))
        self.pc_view.rendered.connect(self._update_hud)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(self.image_view)
        self.splitter.addWidget(self.pc_view)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(4)
        self.splitter.splitterMoved.connect(self._on_split_dragged)

        self.hud = HudPanel()
        self.legend = LegendWidget()
        self.legend.filter_changed.connect(self._on_filter)
        legend_scroll = QScrollArea()
        legend_scroll.setWidget(self.legend)
        legend_scroll.setWidgetResizable(True)
        legend_scroll.setFrameShape(QFrame.NoFrame)
        legend_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

        side = QWidget()
        side.setFixedWidth(SIDEBAR_W)
        lay = QVBoxLayout(side)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(6)
        lay.addWidget(_heading("Performance"))
        lay.addWidget(self.hud)
        self.legend_heading = _heading("Classes in view")  # the class set's title follows the first frame
        lay.addWidget(self.legend_heading)
        hint = QLabel("click: highlight · box / right-click: hide")
        hint.setStyleSheet("color: #8a929c; font-size: 11px")
        lay.addWidget(hint)
        lay.addWidget(legend_scroll, 1)

        self.plot = LatencyPlot()
        self.left = QSplitter(Qt.Vertical)
        self.left.addWidget(self.splitter)
        self.left.addWidget(self.plot)
        self.left.setChildrenCollapsible(False)
        self.left.setHandleWidth(4)
        self.left.splitterMoved.connect(self._on_split_dragged)

        central = QSplitter(Qt.Horizontal)
        central.addWidget(self.left)
        central.addWidget(side)
        central.setStretchFactor(0, 1)
        central.setCollapsible(1, False)
        self.setCentralWidget(central)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Controls")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        tb.setFocusPolicy(Qt.NoFocus)
        a = self.actions_by_name
        tb.addAction(a["pause"])
        tb.addAction(a["step"])
        self.seek_slider = QSlider(Qt.Horizontal)
        self.seek_slider.setFocusPolicy(Qt.NoFocus)
        self.seek_slider.setMinimumWidth(100)
        self.seek_slider.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.position_label = QLabel("–")
        self.position_label.setMinimumWidth(72)
        self.position_label.setAlignment(Qt.AlignCenter)
        timeline = self.session.source.timeline
        if timeline is not None:
            self.seek_slider.setRange(0, max(timeline.length - 1, 0))
            self.seek_slider.setSingleStep(timeline.step)
            self.seek_slider.setPageStep(max(timeline.length // 20, timeline.step))
            self.seek_slider.setToolTip("seek: drag or click (← / Home go back)")
            self.seek_slider.valueChanged.connect(self._on_seek)
        else:
            self.seek_slider.setEnabled(False)
            self.seek_slider.setToolTip("seeking needs the demo, a folder or a recording")
            a["back"].setEnabled(False)
            a["first"].setEnabled(False)
        tb.addWidget(self.seek_slider)
        tb.addWidget(self.position_label)
        tb.addSeparator()
        self.view_combo = QComboBox()
        self.view_combo.setFocusPolicy(Qt.NoFocus)
        self.view_combo.setToolTip("view (V cycles, 1…6 pick one)")
        for name in GUI_VIEWS:
            self.view_combo.addItem(VIEW_TITLES[name], name)
        self.view_combo.setCurrentIndex(GUI_VIEWS.index(self.view_name))
        self.view_combo.currentIndexChanged.connect(lambda i: self.set_view(GUI_VIEWS[i]))
        tb.addWidget(self.view_combo)
        tb.addWidget(QLabel("  Opacity "))
        self.alpha_slider = QSlider(Qt.Horizontal)
        self.alpha_slider.setFocusPolicy(Qt.NoFocus)
        self.alpha_slider.setRange(0, 100)
        self.alpha_slider.setValue(round(self.alpha * 100))
        self.alpha_slider.setFixedWidth(90)
        self.alpha_slider.setToolTip("overlay opacity of the class colors ([ / ])")
        self.alpha_slider.valueChanged.connect(lambda v: self.set_alpha(v / 100.0))
        tb.addWidget(self.alpha_slider)
        tb.addSeparator()
        for name in ("screenshot", "record", "point_cloud", "export_ply", "help"):
            tb.addAction(a[name])
        for w in tb.findChildren(QWidget):
            w.setFocusPolicy(Qt.NoFocus)
        self.addToolBar(Qt.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.hover_label = QLabel("hover the image for class and depth")
        self.hover_label.setMinimumWidth(320)
        self.rec_label = QLabel("")
        self.rec_label.setStyleSheet("color: #ff5a4f; font-weight: bold")
        self.model_label = QLabel(f"{self.session.model_text}  ·  {self.session.info.kind}  ·  "
                                  f"{self.session.info.width}×{self.session.info.height}")
        self.model_label.setToolTip(self.session.info.description)
        sb.addWidget(self.hover_label, 1)
        sb.addPermanentWidget(self.rec_label)
        sb.addPermanentWidget(self.model_label)

    def _on_split_dragged(self, *_: object) -> None:
        self._auto_split = False

    def _fit_split(self) -> None:
        """Give the 2D view the size its picture needs: with the 3D view beside it, at most 55 %
        of the width; the latency plot below takes what is left of the height (within limits)."""
        if not self._auto_split:
            return
        total, height = self.splitter.width(), self.left.height()
        if total <= 0 or height <= 0:
            return
        info = self.session.info
        aspect = panels(self.view_name) * info.width / max(info.height, 1)
        if self.pc_view.isVisible():
            left = int(min((height - PLOT_MIN_H) * aspect, 0.55 * total))
            self.splitter.setSizes([left, max(total - left, 1)])
        else:
            left = total
        views = int(min(max(left / aspect, height - PLOT_MAX_H), height - PLOT_MIN_H))
        self.left.setSizes([views, max(height - views, 1)])

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        QTimer.singleShot(0, self._fit_split)

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        QTimer.singleShot(0, self._fit_split)

def _heading(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setStyleSheet("color: #9aa3ad; font-weight: bold; font-size: 11px; letter-spacing: 1px; margin-top: 4px")
    return label
