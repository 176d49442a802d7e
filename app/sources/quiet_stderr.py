"""Run an image decode without the decoders' own stderr chatter.

A damaged PNG makes libpng print "libpng error: ..." with fprintf from C, and OpenCV's codecs
log "[ WARN:0@...] global grfmt_png.cpp ..." lines. The folder source says itself which file
was bad and why, so those lines are noise that looks like a crash. Python cannot reach either
writer, so fd 2 is pointed at a spool file while the decode runs. fd 2 belongs to the whole
process, hence: a lock, so that two decodes never interleave their redirections, and whatever
else reached fd 2 during the decode (another thread's progress line) is written back to the
real stderr afterwards, in order; only the decoders' own lines are dropped.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import IO, TypeVar

T = TypeVar("T")

CHATTER = re.compile(
    rb"^(libpng (error|warning)\b"  # libpng's default handlers
    rb"|\[ ?(WARN|ERROR|INFO|DEBUG|VERBOSE)[^\]]*\] global (grfmt_\w+|loadsave|bitstrm|exif)\.cpp)"  # imgcodecs
)

_lock = threading.Lock()
_spool: tuple[int, IO[bytes]] | None = None  # (pid, anonymous temporary file), emptied after each use


def without_decoder_chatter(decode: Callable[[], T]) -> T:
    """decode() with fd 2 captured; everything captured except the decoders' lines is passed on."""
    global _spool
    with _lock:
        try:
            if _spool is None or _spool[0] != os.getpid():  # a forked child gets its own spool
                _spool = (os.getpid(), tempfile.TemporaryFile(prefix="sgnet-stderr-"))  # noqa: SIM115 (kept open for the process)
            spool = _spool[1].fileno()
            saved = os.dup(2)
        except OSError:  # no fd 2 at all (a detached process) or no temp dir: nothing to keep quiet
            return decode()
        _flush_python_stderr()
        os.dup2(spool, 2)
        try:
            return decode()
        finally:
            _flush_python_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            _pass_on(_drain(spool))


def _flush_python_stderr() -> None:
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stderr: nothing to flush
        pass


def _drain(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    return b"".join(chunks)


def _pass_on(data: bytes) -> None:
    kept = b"".join(line for line in data.splitlines(keepends=True) if not CHATTER.match(line))
    try:
        while kept:
            kept = kept[os.write(2, kept):]
    except OSError:  # stderr went away: the lines were someone else's and cannot be delivered
        pass
