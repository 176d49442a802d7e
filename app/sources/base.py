"""What every source shares: its options, what it says about itself, and the bad-frame marker.

A source is a context manager (enter = start streaming, exit = stop and release the
device/file) and an iterator of `RGBDFrame | BadFrame`. A frame the source could not turn
into a valid `RGBDFrame` (unreadable image, sizes that do not match, NaN depth) comes out as
a `BadFrame` so the pipeline can count and log it; it is never fatal.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from app.errors import UserError
from app.sources.depth_filters import FilterError, FilterOptions, SoftwareFilters
from sgnet.frames import RGBDFrame

Clock = Literal["system", "device", "none"]
"""How `RGBDFrame.device_ts_ms` relates to the host clock: "system" = milliseconds since the
Unix epoch (librealsense global/system time), so frame age can be computed; "device" = the
camera's own clock; "none" = a counter with no relation to wall time (files, demo)."""


@dataclass(frozen=True)
class SourceOptions:
    """What the user can ask of any source; `None` means the source's own default."""

    width: int | None = None
    height: int | None = None
    fps: int | None = None
    realtime: bool = False  # recordings/demo: pace at recorded speed instead of as fast as possible
    depth_scale: float | None = None  # folders: metres per depth unit (default 0.001)
    filters: FilterOptions = field(default_factory=FilterOptions)
    allow_damaged: bool = False  # recordings: play what can be read of a damaged file (and still report it)
    topics: str | None = None  # ROS bags: "COLOR,DEPTH" topic names (default: found by realsense-ros names)
    preset: str | None = None  # live RealSense: a D400 visual preset name
    preset_json: str | None = None  # live RealSense: an advanced-mode JSON file (RealSense Viewer)


@dataclass(frozen=True)
class SourceInfo:
    """What a source tells the pipeline and the user once it is open."""

    kind: Literal["realsense", "recording", "folder", "demo"]
    description: str  # one line for the user, e.g. "Intel RealSense D435 (serial 123), 640x480 @ 30 FPS"
    width: int
    height: int
    fps: float
    live: bool  # live sources drop old frames when inference is slow; others never drop
    clock: Clock = "none"
    num_frames: int | None = None  # known length (folders, demo loop), None for live/recordings


@dataclass(frozen=True)
class BadFrame:
    """A frame the source received but could not turn into a valid `RGBDFrame`. `kind` is what the
    summary counts it under ("depth filters failed"); empty = derived from the reason's words
    (`app.stats.reason_kind`)."""

    index: int
    reason: str
    device_ts_ms: float = 0.0
    arrived_ns: int = 0
    kind: str = ""


SourceItem = RGBDFrame | BadFrame


class Source(ABC):
    """Base class: `with source: for item in source: ...`."""

    def __init__(self) -> None:
        self._started = False
        self.notes: list[str] = []  # said once at start (e.g. "no intrinsics.json: assuming ...")
        self._software_filters: SoftwareFilters | None = None  # when asked for

    def use_software_filters(self, opts: FilterOptions) -> None:
        """For a source whose frames are not librealsense's (demo, folders): from now on `filtered`
        runs librealsense's depth filters on them through a software device, so the filter
        options do what they say on every source. Nothing happens when all filters are off."""
        if opts.any:
            self._software_filters = SoftwareFilters(opts)

    def filtered(self, item: SourceItem) -> SourceItem:
        """`item` after the software depth filters (itself if there are none, or it is a `BadFrame`);
        a frame librealsense cannot filter becomes a `BadFrame` with its reason."""
        if self._software_filters is None or not isinstance(item, RGBDFrame):
            return item
        try:
            return self._software_filters.apply(item)
        except FilterError as e:
            return BadFrame(item.index, f"depth filters failed: {e}", item.device_ts_ms, item.arrived_ns,
                            kind="depth filters failed")

    def end_report(self) -> list[str]:
        """What the source could not deliver, said at the end of a run that still succeeds (a damaged
        recording played with --allow-damaged); [] when every frame it should hold was delivered.
        A loss that must fail the run is raised instead (`DamagedInputError`)."""
        return []

    @property
    @abstractmethod
    def info(self) -> SourceInfo:
        """Valid after construction (sources probe their device/file when created)."""

    def _start(self) -> None:  # noqa: B027 (an optional hook: a no-op unless a source opens something)
        """Open the device/file; nothing to do for sources that hold their frames already."""

    def _stop(self) -> None:  # noqa: B027 (an optional hook, like _start)
        """Release what `_start` opened."""

    @abstractmethod
    def _frames(self) -> Iterator[SourceItem]: ...

    def __enter__(self) -> Source:
        self._start()
        self._started = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop streaming and release the device/file; safe to call twice."""
        if self._started:
            self._started = False
            self._stop()
        if self._software_filters is not None:
            self._software_filters.close()

    def __iter__(self) -> Iterator[SourceItem]:
        if not self._started:
            raise RuntimeError("use the source inside `with source:` (it starts streaming on enter)")
        return self._frames()


def now_ns() -> int:
    """Host arrival time, the clock `RGBDFrame.arrived_ns` uses."""
    return time.monotonic_ns()


class SourceError(UserError):
    """A source failed while streaming (camera unplugged, recording unreadable midway)."""


class DamagedInputError(SourceError):
    """The input held less than it should (a truncated or corrupt recording): what could be read
    was processed and the files written, but the run must not look complete. Exit status 3."""

    exit_code = 3
