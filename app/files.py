"""Writing files so that nobody ever reads half of one.

Output goes to a hidden partial file beside the target and is renamed over it only when
complete (a rename within one folder is atomic). The partial name holds the process id and a
random part, so two runs writing the same target never share one.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# what a failed write means to a user, by errno; anything else: the system's own words
_WHY = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.EIO: "input/output error",
    errno.ENOENT: "the folder was removed",
    errno.ENOTDIR: "the folder was removed",
}


def partial_path(target: Path) -> Path:
    """A unique hidden sibling of `target` to write into: `.name.<pid>-<random>.partial<suffix>`
    (the suffix kept, so tools that pick a format by it still do)."""
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    return target.with_name(f".{target.stem}.{tag}.partial{target.suffix}")


def why_write_failed(e: OSError) -> str:
    """A few words for the user: "disk full", "permission denied", ..."""
    if e.errno in _WHY:
        return _WHY[e.errno]
    return e.strerror.lower() if e.strerror else str(e) or type(e).__name__


def write_all(fd: int, data: bytes | memoryview) -> int:
    """os.write until every byte is written (a short write is retried, so a full disk raises
    ENOSPC instead of silently losing the rest); returns len(data)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return len(data)


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """Yields a unique partial path to write; it replaces `target` if the block succeeds and is
    removed if it fails, so `target` is the old file or the complete new one, never half."""
    tmp = partial_path(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write `data` to `target` complete or not at all (OSError: nothing left behind)."""
    with replacing(target) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text_atomic(target: Path, text: str) -> None:
    """Write `text` to `target` complete or not at all; OSError (disk full, permissions) leaves
    neither a partial file nor a changed target behind."""
    write_bytes_atomic(target, text.encode("utf-8"))
