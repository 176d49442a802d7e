"""What the `sgnet` commands share: parsing sizes, CPU threads, and result files (JSON).

Each helper raises `UserError` with the option's name in the message, so every command
words the same mistake the same way.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.files import write_text_atomic

_HW = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def parse_hw(text: str, option: str, minimum: int = 16, maximum: int | None = None) -> tuple[int, int]:
    """'480x640' -> (480, 640): height first, as image arrays are indexed.

    >>> parse_hw("240x320", "--size")
    (240, 320)
    """
    m = _HW.match(text or "")
    if not m:
        raise UserError(f"{option} must be HEIGHTxWIDTH such as 480x640, got {text!r}")
    h, w = int(m.group(1)), int(m.group(2))
    if min(h, w) < minimum or (maximum is not None and max(h, w) > maximum):
        limits = f"{minimum}..{maximum}" if maximum is not None else f"at least {minimum}"
        raise UserError(f"{option} {h}x{w} is out of range: each side must be {limits} pixels")
    return h, w


def set_threads(threads: int | None) -> None:
    """--threads: torch's CPU threads (None keeps torch's choice)."""
    if threads is None:
        return
    if threads < 1:
        raise UserError(f"--threads must be at least 1, got {threads}")
    import torch

    torch.set_num_threads(threads)


def check_json_output(path: Path | None, option: str = "--json") -> None:
    """Fail before the work starts if a result file could not be written afterwards.

    The folder that holds the file may be new (it is created, like `mkdir`), but its own parent
    must exist: a path missing several folders is more likely a typo than a wish. An existing
    folder is tried for real (a file created and removed), so the check agrees with the write.
    """
    if path is None:
        return
    if path.is_dir():
        raise UserError(f"{option} {path} is a folder; give a file name such as {path / 'results.json'}")
    folder = path.parent
    probe = folder if folder.exists() else folder.parent
    if probe.exists() and not probe.is_dir():
        raise UserError(f"cannot write {option} {path}: {probe} is a file, not a folder")
    if not probe.is_dir():
        raise UserError(f"cannot write {option} {path}: folder {probe} does not exist (create it first)")
    if not os.access(probe, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"cannot write {option} {path}: permission denied (choose another location)")
    if probe == folder:
        _try_write_in(folder, f"cannot write {option} {path}")


def _try_write_in(folder: Path, what: str) -> None:
    """Create and remove a hidden file in `folder`, as the real write will (a temporary file,
    then a rename): permission bits do not tell everything (root, read-only or special mounts)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".sgnet-probe-"):
            pass
    except OSError as e:
        raise UserError(f"{what}: {(e.strerror or str(e)).lower()} (choose another location)") from None


def write_json(path: Path, payload: Any) -> None:
    """Write `payload` as indented JSON, complete or not at all (temporary file, then rename)."""
    try:
        path.parent.mkdir(exist_ok=True)
        write_text_atomic(path, json.dumps(payload, indent=2) + "\n")
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
