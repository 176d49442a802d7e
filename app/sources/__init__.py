"""Where frames come from: `open_source(spec)` -> a context-managed iterator of `RGBDFrame`.

spec: "realsense" / "realsense:SERIAL" (a live camera), "demo" (the embedded synthetic
room), a path to a RealSense recording (.bag or .db3 written by librealsense), a ROS bag
(realsense-ros: a ROS 1 .bag, a ROS 2 bag folder, a .db3 or .mcap file; told apart from
librealsense's by content), or a folder of color/depth pairs. Creating a source checks it
(device present, file readable, frames found) and raises `UserError` with one clear line
otherwise; entering it starts streaming. Items are `RGBDFrame`s, or `BadFrame`s for frames
that could not be decoded (counted by the pipeline, never fatal).
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
    """"realsense", "demo", "recording" (librealsense's), "rosbag" (realsense-ros or any ROS bag with
    colour and depth images) or "folder" for a --camera value (checks the path exists)."""
    s = spec.strip()
    if s == "demo":
        return "demo"
    if s == "realsense" or s.startswith("realsense:"):
        return "realsense"
    p = Path(s).expanduser()
    if p.is_dir():
        from app.sources.rosbag_file import bag_storage, unclosed_storage

        return "rosbag" if bag_storage(p) == "ros2" or unclosed_storage(p) is not None else "folder"
    if p.is_file():
        from app.sources.rosbag_file import bag_storage, is_librealsense

        storage = bag_storage(p)
        if storage == "mcap" or (storage in ("ros1", "sqlite") and not is_librealsense(p)):
            return "rosbag"
        return "recording"
    if not p.exists():
        raise UserError(
            f"no such file or folder: {s} (--camera takes realsense, realsense:SERIAL, demo, "
            "a .bag/.db3 recording, a ROS bag (.bag, .mcap, .db3, a ROS 2 bag folder) or a folder of "
            "color/depth images)"
        )
    raise UserError(f"{s} is neither a regular file nor a folder")


_KIND_NAMES = {"demo": "demo source", "realsense": "live camera", "recording": "librealsense recording",
               "rosbag": "ROS bag", "folder": "folder of images"}


def check_source_options(kind: str, opts: SourceOptions) -> None:
    """Options that only one kind of source uses, given to another: one line, not silence."""
    if kind != "realsense":
        for flag, given in (("--preset", opts.preset), ("--preset-json", opts.preset_json)):
            if given is not None:
                raise UserError(f"{flag} sets up a live RealSense camera (--camera realsense), not a "
                                f"{_KIND_NAMES[kind]}: leave it out (a recording plays with the settings it was "
                                "recorded with)")
    if kind != "rosbag" and opts.topics is not None:
        raise UserError(f"--topics picks the image topics of a ROS bag, and this --camera is a {_KIND_NAMES[kind]}: "
                        "leave it out")


def open_source(spec: str, options: SourceOptions | None = None) -> Source:
    """The source for `spec`, checked but not yet streaming (use it in a `with` block)."""
    opts = options or SourceOptions()
    kind = source_kind(spec)
    check_source_options(kind, opts)
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
    if kind == "rosbag":
        from app.sources.rosbag import RosbagSource

        return RosbagSource(path, opts)
    from app.sources.recording import RecordingSource

    return RecordingSource(path, opts)
