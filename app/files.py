"""Writing files so that nobody ever reads half of one.

Output goes to a hidden partial file beside the target and is renamed over it only when
complete (a rename within one folder is atomic). The partial name holds the process id and a
random part, so two runs writing the same target never share one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def partial_path(target: Path) -> Path:
    """A unique hidden sibling of `target` to write into: `.name.<pid>-<random>.partial<suffix>`
    (the suffix kept, so tools that pick a format by it still do)."""
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    return target.with_name(f".{target.stem}.{tag}.partial{target.suffix}")


def write_text_atomic(target: Path, text: str) -> None:
    """Write `text` to `target` complete or not at all; OSError (disk full, permissions) leaves
    neither a partial file nor a changed target behind."""
    tmp = partial_path(target)
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
