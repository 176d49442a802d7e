"""Keep librealsense's own stderr lines off the user's terminal while a recording plays.

A damaged `.bag` makes librealsense's bundled rosbag print "Error: Received an invalid TCPROS
header ... at line 85 in .../header.cpp" from a playback thread, at any moment, with C stdio:
Python cannot reach that writer, and a short redirection around one call would miss it. So
while a recording is open, fd 2 is a pipe; a thread passes every line on to the real stderr
except librealsense's, which it keeps (the recording's damage report quotes the first one).
Everything else the process writes to stderr (progress lines, warnings) arrives as before,
in order. Nested users share one pipe (a count), and the real fd 2 is back when the last
one leaves.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

CHATTER = re.compile(
    rb"^(?:(?:Error|Warning|Info|Debug): {3}"  # rosbag's console_bridge handler
    rb"| {9}at line \d+ in "  # ... and its second line, the C++ source position
    rb"|\s*\d\d/\d\d \d\d:\d\d:\d\d,\d+ (?:ERROR|WARNING|WARN|INFO|DEBUG|FATAL) )"  # librealsense's own logger
)
KEPT = 20  # librealsense lines remembered (for the report), the rest only counted


class _Filter:
    def __init__(self) -> None:
        self.users = 0
        self.saved: int | None = None
        self.thread: threading.Thread | None = None
        self.lines: list[str] = []

    def start(self) -> None:
        _flush()
        read_end, write_end = os.pipe()
        self.saved = os.dup(2)
        os.dup2(write_end, 2)
        os.close(write_end)
        self.thread = threading.Thread(target=self._pump, args=(read_end, self.saved), daemon=True,
                                       name="librealsense-stderr")
        self.thread.start()

    def stop(self) -> None:
        _flush()
        assert self.saved is not None and self.thread is not None
        os.dup2(self.saved, 2)  # closes the pipe's last write end: the pump sees EOF
        self.thread.join(timeout=2.0)
        os.close(self.saved)
        self.saved = self.thread = None

    def _pump(self, read_end: int, real: int) -> None:
        pending = b""
        try:
            while chunk := os.read(read_end, 1 << 16):
                *lines, pending = (pending + chunk).split(b"\n")
                self._pass_on([ln + b"\n" for ln in lines], real)
            if pending:
                self._pass_on([pending], real)
        except OSError:
            pass
        finally:
            os.close(read_end)

    def _pass_on(self, lines: list[bytes], real: int) -> None:
        out = []
        for line in lines:
            if CHATTER.match(line):
                if len(self.lines) < KEPT and not line.startswith(b" " * 9):
                    self.lines.append(line.decode("utf-8", "replace").strip())
            else:
                out.append(line)
        data = b"".join(out)
        with contextlib.suppress(OSError):  # the real stderr went away: nothing to deliver to
            while data:
                data = data[os.write(real, data):]


_lock = threading.Lock()
_filter = _Filter()


def hold() -> bool:
    """Start holding librealsense's lines back (counted: every True needs one `release`). False
    when fd 2 cannot be redirected (no fd 2, no pipes left): then its lines come through."""
    with _lock:
        if _filter.users == 0:
            try:
                _filter.start()
            except OSError:
                return False
        _filter.users += 1
        return True


def release() -> None:
    with _lock:
        _filter.users -= 1
        if _filter.users == 0:
            _filter.stop()


@contextlib.contextmanager
def librealsense_quiet() -> Iterator[None]:
    """While inside, librealsense's stderr lines are held back (see `librealsense_said`)."""
    held = hold()
    try:
        yield
    finally:
        if held:
            release()


def librealsense_said() -> list[str]:
    """librealsense's lines held back so far (the first few; console_bridge's source positions left out)."""
    return list(_filter.lines)


def _flush() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
