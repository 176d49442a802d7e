"""Keep C libraries' own stderr lines off the user's terminal, and pass everything else on.

librealsense (and the rosbag it bundles) prints "Error: Received an invalid TCPROS header ...
at line 85 in .../header.cpp" from a playback thread at any moment; libpng prints "libpng
error: ..." and OpenCV's codecs "[ WARN:0@...] global grfmt_png.cpp ..." for a damaged image.
All write to fd 2 from C, where Python cannot reach the writer, and a recording or a folder
says itself what was wrong, so those lines are noise that looks like a crash.

While anything holds the filter (`quiet(kind)`), fd 2 is a pipe and a thread passes every line
on to the real stderr, in order, except the chatter of every known kind, which it keeps by kind
(a damaged recording's report quotes librealsense's first line). Every kind is dropped while the
filter runs, whoever holds it: a line can only be matched when the thread reads it, which may be
after its holder has left. Holds are counted and may nest; the real fd 2 is back when the last
one ends, after every line written before was handled. One mechanism for the whole process:
fd 2 belongs to all of it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

CHATTER = {
    "librealsense": re.compile(
        rb"^(?:(?:Error|Warning|Info|Debug): {3}"  # rosbag's console_bridge handler
        rb"| {9}at line \d+ in "  # ... and its second line, the C++ source position
        rb"|\s*\d\d/\d\d \d\d:\d\d:\d\d,\d+ (?:ERROR|WARNING|WARN|INFO|DEBUG|FATAL) )"  # librealsense's own logger
    ),
    "decoders": re.compile(
        rb"^(libpng (error|warning)\b"  # libpng's default handlers
        rb"|\[ ?(WARN|ERROR|INFO|DEBUG|VERBOSE)[^\]]*\] global (grfmt_\w+|loadsave|bitstrm|exif)\.cpp)"  # imgcodecs
    ),
}
KEPT = 20  # lines remembered per kind (for reports), the rest only dropped
_CONTINUATION = b" " * 9  # console_bridge's source-position line: dropped, not remembered


class _Filter:
    def __init__(self) -> None:
        self.users = 0
        self.saved: int | None = None
        self.thread: threading.Thread | None = None
        self.kept: dict[str, list[str]] = {kind: [] for kind in CHATTER}

    @property
    def running(self) -> bool:
        return self.saved is not None

    def start(self) -> None:
        _flush()
        read_end, write_end = os.pipe()
        self.saved = os.dup(2)
        os.dup2(write_end, 2)
        os.close(write_end)
        self.thread = threading.Thread(target=self._pump, args=(read_end, self.saved), daemon=True,
                                       name="stderr-filter")
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

    def _kind_of(self, line: bytes) -> str | None:
        return next((kind for kind, rx in CHATTER.items() if rx.match(line)), None)

    def _pass_on(self, lines: list[bytes], real: int) -> None:
        out = []
        for line in lines:
            kind = self._kind_of(line)
            if kind is None:
                out.append(line)
            elif len(self.kept[kind]) < KEPT and not line.startswith(_CONTINUATION):
                self.kept[kind].append(line.decode("utf-8", "replace").strip())
        data = b"".join(out)
        with contextlib.suppress(OSError):  # the real stderr went away: nothing to deliver to
            while data:
                data = data[os.write(real, data):]


_lock = threading.Lock()
_filter = _Filter()


def hold(kind: str) -> bool:
    """Start holding `kind`'s lines back (counted: every True needs one `release`). False when
    fd 2 cannot be redirected (no fd 2, no pipes left): then those lines come through."""
    if kind not in CHATTER:
        raise ValueError(f"unknown kind of stderr chatter {kind!r}; one of {', '.join(CHATTER)}")
    with _lock:
        if not _filter.running:
            try:
                _filter.start()
            except OSError:
                return False
        _filter.users += 1
        return True


def release(kind: str) -> None:  # noqa: ARG001 - pairs with hold(kind); the count is shared
    with _lock:
        _filter.users -= 1
        if _filter.users == 0:
            _filter.stop()


@contextlib.contextmanager
def quiet(kind: str) -> Iterator[None]:
    """While inside, `kind`'s stderr lines are held back (see `said`)."""
    held = hold(kind)
    try:
        yield
    finally:
        if held:
            release(kind)


def said(kind: str) -> list[str]:
    """`kind`'s lines held back so far (the first few; console_bridge's source positions left out)."""
    return list(_filter.kept[kind])


def without_decoder_chatter(decode: Callable[[], T]) -> T:
    """decode() with libpng's and OpenCV's codec lines kept off stderr."""
    with quiet("decoders"):
        return decode()


def _flush() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
