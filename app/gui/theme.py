"""A dark Fusion theme: images and class colors read better on a dark frame."""

from __future__ import annotations

from PyQt5.QtGui import QColor, QPalette
from PyQt5.QtWidgets import QApplication

_COLORS = {
    QPalette.Window: (37, 40, 45),
    QPalette.WindowText: (220, 223, 228),
    QPalette.Base: (28, 30, 34),
    QPalette.AlternateBase: (44, 47, 53),
    QPalette.ToolTipBase: (50, 54, 60),
    QPalette.ToolTipText: (230, 230, 230),
    QPalette.Text: (220, 223, 228),
    QPalette.Button: (50, 54, 60),
    QPalette.ButtonText: (220, 223, 228),
    QPalette.BrightText: (255, 90, 80),
    QPalette.Highlight: (62, 120, 200),
    QPalette.HighlightedText: (255, 255, 255),
    QPalette.Link: (100, 160, 240),
}


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    for role, rgb in _COLORS.items():
        pal.setColor(role, QColor(*rgb))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor(120, 124, 130))
    app.setPalette(pal)
