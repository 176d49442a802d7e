"""`sgnet-live` with a window: the same checks and outputs as headless, then the Qt event loop.

Mistakes end in one line before a window opens (arguments, outputs, no display, the
source, the model). The run ends when the window closes (Q, Esc, the close button, Ctrl-C,
SIGTERM, SIGHUP, or `--frames N` reached) — closing is the one shutdown path, which
finalizes every file; then the sink lines and the latency table print as headless, a stop
by a signal is named, and an output that could not be written (the exit screenshot, a
screenshot or PLY saved from the window) ends the run with the output-error status.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from app.expectations import say_expectations
from app.gui.options import GuiOptions, check_display, check_gui_options
from app.live import (
    STOP_SIGNALS,
    LiveOptions,
    check_options,
    load_segmenter,
    model_line,
    prepare_engine,
    raise_run_error,
    say,
    say_stopped,
    stop_reason,
)
from app.sinks.base import OutputError
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
    ours = segmenter is None  # tests hand in a stand-in: no model line, no speed probe
    if ours:
        segmenter = load_segmenter(o, source.info.kind)
        if not o.quiet:
            say(model_line(segmenter, o))
    prepare_engine(segmenter, source.info, o.quiet)  # an export happens here, not inside the first frame
    if ours and not o.quiet:
        say_expectations(segmenter, source.info, say, compiled=o.compile)
    if not o.quiet:
        say(f"source: {source.info.description}")

    from PyQt5.QtCore import QTimer

    from app.gui.main_window import MainWindow
    from app.gui.session import build_session
    from app.stats import print_summary

    app = qt_application()
    session = build_session(o, source, segmenter)
    if not o.quiet:
        session.pipeline.progress = say  # the first bad frames' reasons, as headless
    window = MainWindow(session, g)
    window.show()
    session.start()

    def on_signal(signum: int, _frame: Any) -> None:
        session.pipeline.stop(stop_reason(signum))  # the reason the run reports, not "window closed"
        window.close()

    # A signal closes the window (the one shutdown path); Python only sees the signal when it
    # runs, so a timer wakes it up regularly.
    old = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    try:
        app.exec_()
    finally:
        wake.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
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
    if result.error is not None:  # the run's own error is the one line; these must not go unsaid
        for failure in window_failures(window):
            say(f"warning: {failure}")
    raise_run_error(result)
    raise_window_failures(window)
    say_stopped(result)
    return 0


def window_failures(window: Any) -> list[str]:
    """What the window itself could not write: exit screenshot, recordings stopped with R, S/E saves."""
    failures = [*window.session.recorder.failures, *window.captures.failures]
    if window.exit_screenshot_error is not None:
        failures.insert(0, window.exit_screenshot_error)
    return failures


def raise_window_failures(window: Any) -> None:
    """A failed write of the window ends the run as an output error: one line, the first
    failure, and how many more there were."""
    failures = window_failures(window)
    if failures:
        more = f" (and {len(failures) - 1} more failed saves)" if len(failures) > 1 else ""
        raise OutputError(failures[0] + more)
