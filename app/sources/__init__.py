"""Where frames come from: `open_source(spec)` -> a context-managed iterator of `RGBDFrame`.

spec: "realsense" / "realsense:SERIAL" (a live camera), "demo" (the embedded synthetic
room), a path to a RealSense recording (.bag or .db3, recognised by content), or a folder of
color/depth pairs. Creating a source checks it (device present, file readable, frames
found) and raises `UserError` with one clear line otherwise; entering it starts streaming.
Items are `RGBDFrame`s, or `BadFrame`s for frames that could not be decoded (counted by the
pipeline, never fatal).
"""

from __future__ import annotations

from pathlib import Path

from app.errors import UserError
from app.sources.base import (
    BadFrame,
    DamagedInputError,
    FilterOptions,
    Source,
    SourceError,
    SourceInfo,
    SourceItem,
    SourceOptions,
)

__all__ = [
    "BadFrame",
    "DamagedInputError",
    "FilterOptions",
    "Source",
    "SourceError",
    "SourceInfo",
    "SourceItem",
    "SourceOptions",
    "open_source",
    "source_kind",
]


def source_kind(spec: str) -> str:
    """"realsense", "demo", "recording" or "folder" for a --camera value (checks the path exists)."""
    s = spec.strip()
    if s == "demo":
        return "demo"
    if s == "realsense" or s.startswith("realsense:"):
        return "realsense"
    p = Path(s).expanduser()
    if p.is_dir():
        return "folder"
    if p.is_file():
        return "recording"
    if not p.exists():
        raise UserError(
            f"no such file or folder: {s} (--camera takes realsense, realsense:SERIAL, demo, "
            "a .bag/.db3 recording or a folder of color/depth images)"
        )
    raise UserError(f"{s} is neither a regular file nor a folder")


def open_source(spec: str, options: SourceOptions | None = None) -> Source:
    """The source for `spec`, checked but not yet streaming (use it in a `with` block)."""
    opts = options or SourceOptions()
    kind = source_kind(spec)
    if kind == "demo":
        from app.sources.demo import DemoSource

        return DemoSource(opts)
    if kind == "realsense":
        from app.sources.realsense import RealSenseSource

        serial = spec.strip().partition(":")[2] or None
        return RealSenseSource(serial, opts)
    path = Path(spec.strip()).expanduser()
    if kind == "folder":
        from app.sources.folder import FolderSource

        return FolderSource(path, opts)
    from app.sources.recording import RecordingSource

    return RecordingSource(path, opts)
