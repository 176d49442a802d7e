"""librealsense's own error log, collected: why a playback stopped, in its words.

When a recording cannot be read any further, librealsense's playback thread logs "Failed to read
next frame from file: <reason>" and then reports the playback as stopped, exactly as at the end
of the file. That log line is the one certain sign that playback ended on damage rather than at
the end, so it is collected here.

librealsense writes it itself, into a temporary file (`log_to_file` at error severity, set once
per process), and this module reads the lines written since a mark. It must not be a Python
callback: librealsense logs while holding its logger's lock, a Python callback then waits for
the GIL, and calls such as `pipeline.start` hold the GIL while they log too, so a read error
during start deadlocked the process (seen in CI on a damaged recording). A file written by
librealsense alone needs no Python on its threads. librealsense buffers that file until its
logger is reset, so a mark and a read each reset it and open the same file again (appending);
the reset also ends librealsense's own console logging, whose lines stderr_filter dropped anyway.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import tempfile
import threading
from pathlib import Path

from app.sources.rs_frames import rs_module

READ_FAILED = "Failed to read next frame from file"
TAIL_BYTES = 4 << 20  # only the end of a long run's log is read: the failure is the last thing logged
# " 07/12 02:19:28,501 ERROR [139807088957120] (ros2_reader.cpp:159) read_next_data: unknown message type"
_LINE = re.compile(r"^\s*\S+ \S+ +[A-Z]+ +\[\d+\] +\([^)]*\) ?(.*)$")

_lock = threading.Lock()
_log: Path | None = None
_unavailable = False  # an older pyrealsense2 without log_to_file, or no temporary folder


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def collect_errors() -> int:
    """Start collecting (once per process); returns a mark for `errors_since`."""
    global _log, _unavailable
    with _lock:
        if _log is None and not _unavailable:
            try:
                fd, name = tempfile.mkstemp(prefix="sgnet-librealsense-", suffix=".log")
                os.close(fd)
            except OSError:
                _unavailable = True
                return 0
            path = Path(name)
            try:
                rs = rs_module()
                rs.log_to_file(rs.log_severity.error, name)
            except (RuntimeError, TypeError, AttributeError):
                _remove(path)
                _unavailable = True
                return 0
            _log = path
            atexit.register(_remove, path)
        _flush()
        return _size()


def _flush() -> None:
    """Write out what librealsense has buffered: its file appender is flushed only when closed."""
    if _log is None:
        return
    try:
        rs = rs_module()
        rs.reset_logger()
        rs.log_to_file(rs.log_severity.error, str(_log))
    except (RuntimeError, TypeError, AttributeError):
        pass


def _size() -> int:
    try:
        return _log.stat().st_size if _log is not None else 0
    except OSError:
        return 0


def errors_since(mark: int) -> list[str]:
    """The messages of the error lines written since `mark` (at most the last TAIL_BYTES of them),
    without librealsense's date, thread and source prefix (a line that has none continues the
    message before it)."""
    with _lock:
        if _log is None:
            return []
        _flush()
        try:
            with open(_log, "rb") as f:
                f.seek(max(mark, _size() - TAIL_BYTES))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return []
    messages: list[str] = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            messages.append(m.group(1).strip())
        elif messages and line.strip():
            messages[-1] += " " + line.strip()
    return messages


def read_failure(mark: int) -> str | None:
    """librealsense's reason for giving up on the file since `mark` ("Invalid message for
    deserialize, expected non-empty payload"), or None."""
    for text in errors_since(mark):
        if text.startswith(READ_FAILED):
            return text[len(READ_FAILED):].lstrip(": ") or text
    return None
