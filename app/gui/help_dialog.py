"""The help window (H / F1): every shortcut and mouse gesture, from `app.gui.shortcuts`."""

from __future__ import annotations

import html

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.gui.shortcuts import MOUSE_HELP, SHORTCUTS


def help_html() -> str:
    def row(keys: str, text: str) -> str:
        return f'<tr><td style="padding:2px 14px 2px 0"><b>{keys}</b></td><td>{html.escape(text)}</td></tr>'

    keys = "".join(row(" / ".join(html.escape(k) for k in s.keys), s.help) for s in SHORTCUTS)
    mouse = "".join(row(html.escape(what), does) for what, does in MOUSE_HELP)
    return (
        "<h3>Keyboard</h3><table>" + keys + "</table>"
        "<h3>Mouse</h3><table>" + mouse + "</table>"
        "<p>Screenshots, recordings and PLY exports go to the capture folder shown in the status bar "
        "(<code>--screenshot-dir</code>, default <code>./sgnet-captures</code>).</p>"
    )


class HelpDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("sgnet-live — keys and mouse")
        self.label = QLabel(help_html())
        self.label.setTextFormat(Qt.RichText)
        self.label.setWordWrap(True)
        self.label.setMargin(8)
        scroll = QScrollArea()
        scroll.setWidget(self.label)
        scroll.setWidgetResizable(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(scroll)
        lay.addWidget(buttons)
        self.resize(620, 760)
