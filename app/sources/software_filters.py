"""librealsense's depth filters for frames that did not come from librealsense (demo, folders).

`--decimation/--min-distance/--max-distance/--spatial/--temporal/--hole-filling` must do the
same to a folder of images or the demo as to a camera, so the very same processing blocks run
(`rs_frames.build_filters`, in Intel's order): each frame's depth and colour are pushed into a
`pyrealsense2.software_device` whose two sensors carry the frame's intrinsics (depth is
already aligned to colour: same intrinsics, identity extrinsics) and depth units, joined into
a frameset, filtered, and - when decimation made the depth smaller - aligned back onto the
colour camera with `rs.align`, as the RealSense path does. The frame keeps its colour, its
intrinsics and its size; only the depth changes. Without decimation nothing is re-aligned
(an identity alignment would only punch rounding holes into depth that is already aligned).

One `SoftwareFilters` per source, used from one thread (the capture thread): the temporal
filter keeps state from frame to frame, in the order the frames are read.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import numpy as np

from app.sources.base import BadFrame, FilterOptions, SourceError, SourceItem
from app.sources.rs_frames import build_filters, rs_module
from sgnet.frames import Intrinsics, RGBDFrame

WAIT_MS = 1000  # a software sensor hands a pushed frame on at once; this only guards a hang
FPS = 30  # the streams' nominal rate (librealsense wants one; the filters do not use it)


def _rs_intrinsics(rs: Any, k: Intrinsics) -> Any:
    ri = rs.intrinsics()
    ri.width, ri.height = k.width, k.height
    ri.fx, ri.fy, ri.ppx, ri.ppy = k.fx, k.fy, k.cx, k.cy
    ri.model = rs.distortion.none
    ri.coeffs = [0.0] * 5
    return ri


def _stream(rs: Any, kind: Any, uid: int, fmt: Any, bpp: int, ri: Any) -> Any:
    s = rs.video_stream()
    s.type, s.index, s.uid = kind, 0, uid
    s.width, s.height, s.fps, s.bpp, s.fmt, s.intrinsics = ri.width, ri.height, FPS, bpp, fmt, ri
    return s


class _SoftCamera:
    """A software device for one frame geometry (size, intrinsics, depth units)."""

    def __init__(self, k: Intrinsics, depth_scale: float) -> None:
        rs = self._rs = rs_module()
        self.key = (k, depth_scale)
        self.depth_scale = depth_scale
        ri = _rs_intrinsics(rs, k)
        self._device = rs.software_device()
        self._depth_sensor = self._device.add_sensor("Depth")
        self._color_sensor = self._device.add_sensor("Color")
        self._depth_profile = self._depth_sensor.add_video_stream(
            _stream(rs, rs.stream.depth, 0, rs.format.z16, 2, ri), True)
        self._color_profile = self._color_sensor.add_video_stream(
            _stream(rs, rs.stream.color, 1, rs.format.rgb8, 3, ri), True)
        self._depth_sensor.add_read_only_option(rs.option.depth_units, float(depth_scale))
        ext = rs.extrinsics()
        ext.rotation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        ext.translation = [0.0, 0.0, 0.0]
        self._depth_profile.register_extrinsics_to(self._color_profile, ext)
        self._depth_q = rs.frame_queue(1, True)
        self._color_q = rs.frame_queue(1, True)
        self._depth_sensor.open(self._depth_profile)
        self._color_sensor.open(self._color_profile)
        self._depth_sensor.start(self._depth_q)
        self._color_sensor.start(self._color_q)
        self._pair: list[Any] = []
        # a processing block is librealsense's way to make a frameset out of separate frames
        self._joiner = rs.processing_block(lambda f, src: src.frame_ready(src.allocate_composite_frame(self._pair)))
        self._joined = rs.frame_queue(1, True)
        self._joiner.start(self._joined)
        self._count = 0

    def frameset(self, color: np.ndarray, depth: np.ndarray) -> Any:
        """Push one aligned pair; returns it as a librealsense frameset (depth + colour)."""
        rs = self._rs
        h, w = depth.shape
        self._count += 1
        for sensor, profile, pixels, bpp in ((self._depth_sensor, self._depth_profile, depth, 2),
                                             (self._color_sensor, self._color_profile, color, 3)):
            f = rs.software_video_frame()
            f.pixels = np.ascontiguousarray(pixels)  # pyrealsense2 copies the buffer
            f.stride = w * bpp
            f.bpp = bpp
            f.timestamp = self._count * 1000.0 / FPS  # increasing, whatever order a window seeks in
            f.domain = rs.timestamp_domain.hardware_clock
            f.frame_number = self._count
            f.profile = profile.as_video_stream_profile()
            if bpp == 2:
                f.depth_units = self.depth_scale
            sensor.on_video_frame(f)
        self._pair = [self._depth_q.wait_for_frame(WAIT_MS), self._color_q.wait_for_frame(WAIT_MS)]
        try:
            self._joiner.invoke(self._pair[0])
            return self._joined.wait_for_frame(WAIT_MS).as_frameset()
        finally:
            self._pair = []

    def close(self) -> None:
        for sensor in (self._depth_sensor, self._color_sensor):
            with contextlib.suppress(RuntimeError):
                sensor.stop()
            with contextlib.suppress(RuntimeError):
                sensor.close()


class SoftwareFilters:
    """`apply(frame)` runs the filters `opts` asks for on one frame; a no-op when all are off."""

    def __init__(self, opts: FilterOptions) -> None:
        self.opts = opts
        self._blocks: list[Any] | None = None
        self._align: Any = None
        self._camera: _SoftCamera | None = None

    @property
    def active(self) -> bool:
        return self.opts.any

    def apply(self, item: SourceItem) -> SourceItem:
        """The filtered frame (same size, colour and intrinsics; new depth), a `BadFrame` if
        librealsense failed on this one frame, or `item` as it is (a `BadFrame`, filters off)."""
        if not self.active or not isinstance(item, RGBDFrame):
            return item
        frame = item
        try:
            depth = self._filtered_depth(frame)
        except RuntimeError as e:  # librealsense's own words, for this frame only
            return BadFrame(frame.index, f"depth filters failed: {e}", frame.device_ts_ms, frame.arrived_ns,
                            kind="depth filters failed")
        return dataclasses.replace(frame, depth=depth)

    def _filtered_depth(self, frame: RGBDFrame) -> np.ndarray:
        camera = self._camera_for(frame)
        frames = camera.frameset(frame.color, frame.depth)
        for block in self._blocks or ():
            frames = block.process(frames).as_frameset()
        depth_f = frames.get_depth_frame()
        if (depth_f.get_width(), depth_f.get_height()) != (frame.width, frame.height):  # decimated
            depth_f = self._align.process(frames).get_depth_frame()
        depth = np.array(np.asanyarray(depth_f.get_data()), dtype=np.uint16, copy=True)
        if depth.shape != frame.depth.shape:
            raise RuntimeError(f"aligned depth is {depth.shape[1]}x{depth.shape[0]}, "
                               f"expected {frame.width}x{frame.height}")
        return depth

    def _camera_for(self, frame: RGBDFrame) -> _SoftCamera:
        """The software device for this frame's geometry, made on first use (or when it changes)."""
        key = (frame.intrinsics, float(frame.depth_scale))
        if self._camera is not None and self._camera.key == key:
            return self._camera
        self.close()
        try:
            self._camera = _SoftCamera(frame.intrinsics, float(frame.depth_scale))
            if self._blocks is None:
                self._blocks = build_filters(self.opts)
                self._align = rs_module().align(rs_module().stream.color)
        except RuntimeError as e:
            k = frame.intrinsics
            raise SourceError(
                f"librealsense cannot run the depth filters on {k.width}x{k.height} frames: {e}") from None
        return self._camera

    def close(self) -> None:
        """Release the software device (a later frame makes a new one)."""
        if self._camera is not None:
            camera, self._camera = self._camera, None
            camera.close()
