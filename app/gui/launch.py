"""`sgnet-live` with a window: the same checks and outputs as headless, then the Qt event loop.

Mistakes end in one line before a window opens (arguments, outputs, no display, the
source, the model). The run ends when the window closes (Q, Esc, the close button, Ctrl-C,
or `--frames N` reached); then the sink lines and the latency table print as headless.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from app.gui.options import GuiOptions, check_display, check_gui_options
from app.live import LiveOptions, check_options, load_segmenter, model_line, raise_run_error, say
from sgnet.frames import SegmenterLike

_APP: Any = None  # the QApplication must outlive every widget: keep it referenced


def qt_application() -> Any:
    """The process's QApplication (created once), dark-themed."""
    global _APP
    from PyQt5.QtCore import Qt
    from PyQt5.QtWidgets import QApplication

    from app.gui.theme import apply_theme

    app = QApplication.instance()
    if app is None:
        QApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("sgnet-live")
        apply_theme(app)
    _APP = app
    return app


def run_gui(o: LiveOptions, g: GuiOptions, segmenter: SegmenterLike | None = None) -> int:
    """Open the window; returns the exit code. `segmenter` replaces the model (tests)."""
    check_options(o)
    check_gui_options(g)
    check_display()
    from app.sources import open_source

    source = open_source(o.camera, o.source)
    for note in source.notes:
        say(f"note: {note}")
    if segmenter is None:
        segmenter = load_segmenter(o)
        if not o.quiet:
            say(model_line(segmenter, o))
    if not o.quiet:
        say(f"source: {source.info.description}")

    from PyQt5.QtCore import QTimer

    from app.gui.main_window import MainWindow
    from app.gui.session import build_session
    from app.stats import print_summary

    app = qt_application()
    session = build_session(o, source, segmenter)
    window = MainWindow(session, g)
    window.show()
    session.start()
    # Ctrl-C in the terminal closes the window (the one shutdown path); Python only sees the
    # signal when it runs, so a timer wakes it up regularly.
    old = signal.signal(signal.SIGINT, lambda *_: window.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    try:
        app.exec_()
    finally:
        wake.stop()
        signal.signal(signal.SIGINT, old)
        window.shutdown()  # no-op if the window closed; makes sure the pipeline stopped
    result = session.worker.result
    if result is None:
        raise RuntimeError("the pipeline did not finish")  # pragma: no cover - shutdown waits for it
    for line in result.sink_lines:
        say(line)
    for line in session.source.end_report():
        say(f"warning: {line}")
    if window.exit_screenshot_saved is not None:
        say(f"exit screenshot: {window.exit_screenshot_saved}")
    for path in window.captures.written:
        say(f"saved: {path}")
    print_summary(result.stats, f"sgnet-live · {segmenter.model_name} · {session.info.kind} · {result.reason}")
    raise_run_error(result)
    return 0
