"""What every sink shares: the interface, the per-frame render cache, output-path checks."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.render import DEFAULT_ALPHA, render_view
from sgnet.frames import Segmentation


class OutputError(UserError):
    """An output could not be written while the run was going (disk full, permissions changed, a
    folder removed): the run stops, every other file is finalized, and the user is told exactly
    what was kept. Exit status 4."""

    exit_code = 4


def counted(n: int, noun: str) -> str:
    """"1 frame", "57 frames": for the lines a user reads."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class Rendered:
    """Views of one result, each rendered at most once and shared by all sinks; `ms` is the
    time spent rendering (the pipeline's "render" stage)."""

    def __init__(self, seg: Segmentation, alpha: float = DEFAULT_ALPHA) -> None:
        self.seg = seg
        self.alpha = alpha
        self.ms = 0.0
        self._views: dict[str, np.ndarray] = {}

    def view(self, name: str) -> np.ndarray:
        img = self._views.get(name)
        if img is None:
            t0 = time.perf_counter()
            img = render_view(self.seg, name, self.alpha)
            self.ms += (time.perf_counter() - t0) * 1000.0
            self._views[name] = img
        return img


class Sink(ABC):
    """Receives every result in order; `close` must leave valid files whatever happened before."""

    name = "sink"

    def open(self, width: int, height: int, fps: float) -> None:  # noqa: B027 - optional hook
        """Called once before the first frame with the source's frame size and rate."""

    @abstractmethod
    def write(self, rendered: Rendered) -> None: ...

    @abstractmethod
    def close(self) -> list[str]:
        """Finalize files; returns one line per thing written, for the user."""


def check_output_file(path: str | os.PathLike, what: str, suffixes: tuple[str, ...]) -> Path:
    """Fail early (before any camera or model is opened) if `path` cannot be written."""
    p = Path(path).expanduser()
    if p.suffix.lower() not in suffixes:
        raise UserError(f"{what} {p} must end in {' or '.join(suffixes)}")
    if p.is_dir():
        raise UserError(f"{what} {p} is a folder; give a file name such as {p / ('out' + suffixes[0])}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"cannot write {what} {p}: folder {parent} does not exist (create it first)")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise UserError(f"cannot write {what} {p}: permission denied (choose another location)")
    return p


def check_output_dir(path: str | os.PathLike, what: str) -> Path:
    """Fail early if folder `path` can neither be used nor created."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise UserError(f"{what} {p} exists and is not a folder")
    probe = p
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"cannot create {what} {p}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {what} {p}: permission denied in {probe} (choose another location)")
    return p
