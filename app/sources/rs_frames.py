"""pyrealsense2 framesets -> `RGBDFrame`, shared by the live camera and recording playback.

Depth goes through the optional post-processing filters, then `rs.align` maps it onto the
color camera, so the frame's intrinsics are the color stream's (from the device or file,
never constants). Lens distortion is ignored: RealSense color streams report zero or
near-zero coefficients.

A frameset must hold a *new* depth and a *new* color frame. librealsense's pipeline fills a
stream that has no new frame with the last one it had (a camera that dropped a frame, a
recording that lost images), which would pair one frame's color with another frame's depth:
such a frameset, or one that lacks a stream, is a `BadFrame` ("stale color: frame 9 again").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.sources.base import BadFrame, Clock, SourceItem, now_ns
from app.sources.depth_filters import FilterOptions, build_filters, rs_module  # rs_module: also for the others
from sgnet.frames import Intrinsics, RGBDFrame

# librealsense timestamp domains that are milliseconds since the Unix epoch on the host clock.
_SYSTEM_DOMAINS = ("global_time", "system_time")


def intrinsics_of(profile: Any) -> Intrinsics:
    """`Intrinsics` of a pyrealsense2 video stream profile (librealsense is 0-based already)."""
    i = profile.as_video_stream_profile().get_intrinsics()
    return Intrinsics(int(i.width), int(i.height), float(i.fx), float(i.fy), float(i.ppx), float(i.ppy))


def clock_of(domain: Any) -> Clock:
    return "system" if getattr(domain, "name", str(domain)).split(".")[-1] in _SYSTEM_DOMAINS else "device"


def color_to_rgb(frame: Any) -> np.ndarray | str:
    """The color frame as a fresh uint8 HxWx3 RGB array, or a reason string if the format is unknown."""
    rs = rs_module()
    fmt = frame.get_profile().format()
    data = np.asanyarray(frame.get_data())
    if fmt == rs.format.rgb8:
        return np.array(data, dtype=np.uint8, copy=True)
    if fmt == rs.format.bgr8:
        return np.ascontiguousarray(data[:, :, ::-1])
    if fmt == rs.format.rgba8:
        return np.ascontiguousarray(data[:, :, :3])
    if fmt == rs.format.bgra8:
        return np.ascontiguousarray(data[:, :, 2::-1])
    if fmt in (rs.format.yuyv, rs.format.uyvy):
        import cv2

        h, w = frame.get_height(), frame.get_width()
        packed = np.asanyarray(data).reshape(h, w, 2)
        code = cv2.COLOR_YUV2RGB_YUYV if fmt == rs.format.yuyv else cv2.COLOR_YUV2RGB_UYVY
        return cv2.cvtColor(packed, code)
    return f"unsupported color format {fmt}"


FrameId = tuple[int, float]  # (frame number, timestamp ms): the same pair means the same frame


@dataclass
class FrameTally:
    """What framesets brought: per stream, frames never seen before (`new`); framesets whose frame
    of a stream was missing or repeated (`lacking_framesets`, with the first reason)."""

    new: dict[str, int] = field(default_factory=lambda: {"depth": 0, "color": 0})
    framesets: int = 0
    lacking_framesets: int = 0  # with a stream missing or repeated
    good_framesets: int = 0  # turned into an RGBDFrame
    first_reason: str | None = None  # of the first frameset that lacked a stream
    malformed: int = 0  # framesets with a frame whose buffer does not fit its stream (damaged file)
    first_malformed: str | None = None
    first_ms: float | None = None  # device timestamps of the first and the latest frameset
    last_ms: float | None = None
    last_seen: dict[str, FrameId | None] = field(default_factory=lambda: {"depth": None, "color": None})


_BYTES_PER_PIXEL = {"z16": 2, "y16": 2, "yuyv": 2, "uyvy": 2, "rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "y8": 1}


def malformed(frame: Any, stream: str) -> str | None:
    """Why a frame's buffer does not fit its stream (a damaged recording: a corrupt image header),
    None if it fits. Checked before alignment, which would read past the buffer and crash."""
    v = frame.as_video_frame()
    p = frame.get_profile().as_video_stream_profile()
    w, h, stride, size = v.get_width(), v.get_height(), v.get_stride_in_bytes(), frame.get_data_size()
    bpp = _BYTES_PER_PIXEL.get(str(p.format()).rpartition(".")[2], 0)
    if (w, h) == (p.width(), p.height()) and stride >= w * bpp and size >= stride * h:
        return None
    return (f"malformed {stream} frame {frame.get_frame_number()}: {w}x{h}, {stride} bytes a row, {size} bytes; "
            f"its stream is {p.width()}x{p.height()}")


def _frame_id(frame: Any) -> FrameId | None:
    try:
        return (int(frame.get_frame_number()), float(frame.get_timestamp())) if frame else None
    except RuntimeError:
        return None


class FramesetConverter:
    """Filters + alignment + copy out of librealsense's frame pool, one frameset at a time.

    `may_repeat` names streams that legitimately repeat (a recording whose color runs at a
    lower rate than depth); `tally` collects what came, across converters (a seek makes a new one);
    `from_file`: frames come from a recording, whose image headers may be damaged (`malformed`;
    a software device's frames report no buffer size, so live frames are not checked);
    `after_seek`: the converter before a seek, whose last pair still counts as "used": playback may
    hand over a frame read before the seek with the first one after it (seen: the depth of a
    recording's last frame with the colour of frame 0 after a seek from the end), which is stale
    then too. The same whole pair again right after the seek is a seek to the frame shown last.
    """

    def __init__(self, filters: FilterOptions, fallback_depth_scale: float, tally: FrameTally | None = None,
                 may_repeat: frozenset[str] = frozenset(), from_file: bool = False,
                 after_seek: FramesetConverter | None = None) -> None:  # fmt: skip
        rs = rs_module()
        self._align = rs.align(rs.stream.color)
        self._filters = build_filters(filters)
        self._fallback_scale = fallback_depth_scale
        self.tally = tally if tally is not None else FrameTally()
        self._may_repeat = may_repeat
        self._from_file = from_file
        self._last_used: dict[str, FrameId | None] = {"depth": None, "color": None}
        self._just_seeked = after_seek is not None
        if after_seek is not None:
            self._last_used = dict(after_seek._last_used)

    def check_new(self, frames: Any) -> tuple[dict[str, FrameId | None], str | None]:
        """The frameset's depth/color ids, and why it cannot be used (None: both are new)."""
        t = self.tally
        t.framesets += 1
        ts = float(frames.get_timestamp())
        t.first_ms = ts if t.first_ms is None else t.first_ms
        t.last_ms = ts
        ids = {"depth": _frame_id(frames.get_depth_frame()), "color": _frame_id(frames.get_color_frame())}
        reasons = []
        again = {s for s, fid in ids.items() if fid is not None and fid == self._last_used[s]}
        if self._just_seeked and again == set(ids):
            again = set()  # the whole last pair again: a seek to the frame shown last
        self._just_seeked = False
        for stream, fid in ids.items():
            if fid is not None and fid != t.last_seen[stream]:
                t.new[stream] += 1
                t.last_seen[stream] = fid
            if fid is None:
                reasons.append(f"missing {stream}")
            elif stream in again and stream not in self._may_repeat:
                reasons.append(f"stale {stream}: frame {fid[0]} again")
        reason = ", ".join(reasons) or None
        if reason:
            t.lacking_framesets += 1
            t.first_reason = t.first_reason or reason
        return ids, reason

    def convert(self, frames: Any, index: int) -> SourceItem:
        arrived = now_ns()
        ts = float(frames.get_timestamp())
        ids, lacking = self.check_new(frames)
        if lacking:
            return BadFrame(index, lacking, ts, arrived)
        misfit = (malformed(frames.get_depth_frame(), "depth") or malformed(frames.get_color_frame(), "color")
                  if self._from_file else None)
        if misfit:
            self.tally.malformed += 1
            self.tally.first_malformed = self.tally.first_malformed or misfit
            return BadFrame(index, misfit, ts, arrived)
        try:
            return self._aligned(frames, index, ts, arrived, ids)
        except (RuntimeError, ValueError) as e:  # pixels librealsense or numpy cannot take as they are
            return BadFrame(index, f"unreadable frameset: {e}", ts, arrived)

    def _aligned(self, frames: Any, index: int, ts: float, arrived: int, ids: dict[str, FrameId | None]) -> SourceItem:
        try:
            for block in self._filters:
                frames = block.process(frames).as_frameset()
            aligned = self._align.process(frames)
            depth_f = aligned.get_depth_frame()
            color_f = aligned.get_color_frame()
        except RuntimeError as e:
            return BadFrame(index, f"librealsense could not align this frameset: {e}", ts, arrived)
        if not depth_f or not color_f:
            return BadFrame(index, "frameset lacks a depth or a color frame", ts, arrived)
        color = color_to_rgb(color_f)
        if isinstance(color, str):
            return BadFrame(index, color, ts, arrived)
        depth = np.array(np.asanyarray(depth_f.get_data()), dtype=np.uint16, copy=True)
        scale = float(depth_f.as_depth_frame().get_units()) or self._fallback_scale
        try:
            frame = RGBDFrame(
                color=color,
                depth=depth,
                depth_scale=scale,
                intrinsics=intrinsics_of(color_f.get_profile()),
                index=index,
                device_ts_ms=ts,
                arrived_ns=arrived,
            )
        except ValueError as e:
            return BadFrame(index, str(e), ts, arrived)
        self._last_used = ids
        self.tally.good_framesets += 1
        return frame
