"""librealsense's own error log, collected: why a playback stopped, in its words.

When a recording cannot be read any further, librealsense's playback thread logs "Failed to read
next frame from file: <reason>" and then reports the playback as stopped, exactly as at the end
of the file. That log line is the one certain sign that playback ended on damage rather than at
the end, so it is collected here: a callback at error severity, registered once per process.
librealsense calls it on its own thread (its asynchronous mode delivered nothing in 2.59) and
waits for Python's GIL, so the callback only appends under a lock that nothing else holds
while calling librealsense, and it never raises (an exception there aborts the process).

Known risk: librealsense holds its logger's lock while it calls this, and pyrealsense2 runs
`pipeline.start` holding the GIL, which logs too; a read error during start can then deadlock.
Letting librealsense write the log to a file (`log_to_file`, flushed only by `reset_logger`)
avoids Python on its threads, but a CI run of that variant lost frames on a damaged file once,
unexplained, so it is not used yet.
"""

from __future__ import annotations

import threading

from app.sources.rs_frames import rs_module

READ_FAILED = "Failed to read next frame from file"
KEPT = 50

_lock = threading.Lock()  # guards _errors only
_register_lock = threading.Lock()
_errors: list[str] = []  # the first KEPT error lines of the process
_registered = False


def _on_log(_severity: object, message: object) -> None:
    """Never raises: an exception escaping a librealsense callback aborts the process."""
    try:
        text = message.raw()  # type: ignore[attr-defined]
        with _lock:
            if len(_errors) < KEPT:
                _errors.append(str(text).strip())
    except BaseException:  # noqa: BLE001, S110 (see the docstring)
        pass


def collect_errors() -> int:
    """Start collecting (once per process); returns a mark for `errors_since`."""
    global _registered
    with _register_lock:
        if not _registered:
            try:
                rs = rs_module()
                rs.log_to_callback(rs.log_severity.error, _on_log)
                _registered = True
            except (RuntimeError, TypeError, AttributeError):  # an older pyrealsense2: no such hook
                pass
    with _lock:
        return len(_errors)


def errors_since(mark: int) -> list[str]:
    with _lock:
        return list(_errors[mark:])


def read_failure(mark: int) -> str | None:
    """librealsense's reason for giving up on the file since `mark` ("Invalid message for
    deserialize, expected non-empty payload"), or None."""
    for text in errors_since(mark):
        if text.startswith(READ_FAILED):
            return text[len(READ_FAILED):].lstrip(": ") or text
    return None
