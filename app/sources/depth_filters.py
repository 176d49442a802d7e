"""librealsense's depth filters: the options, the blocks in Intel's order, and running them on
frames that did not come from librealsense (demo, folders).

`FilterOptions` are the same for every source. A camera's or recording's framesets go through
`build_filters`' blocks in `rs_frames`. Every other source's frames go through the very same
blocks here (`SoftwareFilters`): each frame's depth and colour are pushed into a
`pyrealsense2.software_device` whose two sensors carry the frame's intrinsics (depth is
already aligned to colour: same intrinsics, identity extrinsics) and depth units, joined into
a frameset, filtered, and - when decimation made the depth smaller - aligned back onto the
colour camera with `rs.align`, as the RealSense path does. The frame keeps its colour, its
intrinsics and its size; only the depth changes. Without decimation nothing is re-aligned
(an identity alignment would only punch rounding holes into depth that is already aligned).

One `SoftwareFilters` per source, used from one thread (the capture thread): the temporal
filter keeps state from frame to frame, in the order the frames are read. This module imports
nothing of `app.sources`, so `Source` (base.py) can offer the filters to every source.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import UserError
from sgnet.frames import Intrinsics, RGBDFrame

WAIT_MS = 1000  # a software sensor hands a pushed frame on at once; this only guards a hang
FPS = 30  # the streams' nominal rate (librealsense wants one; the filters do not use it)


@dataclass(frozen=True)
class FilterOptions:
    """librealsense's depth post-processing (all off by default), applied before alignment in
    Intel's recommended order: decimation, threshold, spatial, temporal, hole filling. Camera and
    recording frames go through them in `rs_frames`; every other source's frames through the
    same blocks on a software device (`SoftwareFilters`, via `Source.use_software_filters`), so
    no source ignores them."""

    decimation: int = 0  # 0/1 = off, 2..8 = magnitude
    spatial: bool = False
    temporal: bool = False
    hole_filling: bool = False
    min_distance_m: float | None = None  # threshold filter, metres
    max_distance_m: float | None = None

    @property
    def any(self) -> bool:
        return (
            self.decimation > 1
            or self.spatial
            or self.temporal
            or self.hole_filling
            or self.min_distance_m is not None
            or self.max_distance_m is not None
        )


class FilterError(RuntimeError):
    """librealsense could not filter one frame (the source turns it into a bad frame)."""


def rs_module() -> Any:
    """Import pyrealsense2 with a clear message if the wheel is missing."""
    try:
        import pyrealsense2 as rs
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise UserError(f"pyrealsense2 is not installed ({e}); install it with: pip install pyrealsense2") from None
    return rs


def build_filters(opts: FilterOptions) -> list[Any]:
    """The post-processing blocks in Intel's recommended order; empty when all are off.

    Spatial and temporal filtering work in disparity space, so they are wrapped in the
    depth->disparity->depth transforms as the librealsense documentation prescribes.
    """
    rs = rs_module()
    blocks: list[Any] = []
    if opts.decimation > 1:
        blocks.append(rs.decimation_filter(float(opts.decimation)))
    if opts.min_distance_m is not None or opts.max_distance_m is not None:
        lo = 0.0 if opts.min_distance_m is None else float(opts.min_distance_m)
        hi = 16.0 if opts.max_distance_m is None else float(opts.max_distance_m)
        blocks.append(rs.threshold_filter(lo, hi))
    if opts.spatial or opts.temporal:
        blocks.append(rs.disparity_transform(True))
        if opts.spatial:
            blocks.append(rs.spatial_filter())
        if opts.temporal:
            blocks.append(rs.temporal_filter())
        blocks.append(rs.disparity_transform(False))
    if opts.hole_filling:
        blocks.append(rs.hole_filling_filter())
    return blocks


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


class SoftCamera:
    """A software device for one frame geometry (size, intrinsics, depth units). Depth is aligned
    to colour unless `depth_k` and `extrinsics` (depth -> colour: column-major rotation, metres)
    describe a depth camera of its own (a ROS bag's unaligned depth, which `rs.align` aligns)."""

    def __init__(self, k: Intrinsics, depth_scale: float, depth_k: Intrinsics | None = None,
                 extrinsics: tuple[list[float], list[float]] | None = None) -> None:
        rs = self._rs = rs_module()
        self.key = (k, depth_scale)
        self.depth_scale = depth_scale
        ri = _rs_intrinsics(rs, k)
        self._device = rs.software_device()
        self._depth_sensor = self._device.add_sensor("Depth")
        self._color_sensor = self._device.add_sensor("Color")
        self._depth_profile = self._depth_sensor.add_video_stream(
            _stream(rs, rs.stream.depth, 0, rs.format.z16, 2, _rs_intrinsics(rs, depth_k or k)), True)
        self._color_profile = self._color_sensor.add_video_stream(
            _stream(rs, rs.stream.color, 1, rs.format.rgb8, 3, ri), True)
        self._depth_sensor.add_read_only_option(rs.option.depth_units, float(depth_scale))
        ext = rs.extrinsics()
        rotation, translation = extrinsics or ([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0])
        ext.rotation = [float(v) for v in rotation]
        ext.translation = [float(v) for v in translation]
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
        self._count += 1
        for sensor, profile, pixels, bpp in ((self._depth_sensor, self._depth_profile, depth, 2),
                                             (self._color_sensor, self._color_profile, color, 3)):
            f = rs.software_video_frame()
            f.pixels = np.ascontiguousarray(pixels)  # pyrealsense2 copies the buffer
            f.stride = pixels.shape[1] * bpp
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
        self._camera: SoftCamera | None = None

    @property
    def active(self) -> bool:
        return self.opts.any

    def apply(self, frame: RGBDFrame) -> RGBDFrame:
        """The filtered frame: same size, colour and intrinsics, new depth (`frame` itself when
        every filter is off). `FilterError`: librealsense failed on this one frame; `UserError`:
        it cannot filter frames of this geometry at all."""
        if not self.active:
            return frame
        try:
            depth = self._filtered_depth(frame)
        except RuntimeError as e:  # librealsense's own words, for this frame only
            raise FilterError(str(e)) from None
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

    def _camera_for(self, frame: RGBDFrame) -> SoftCamera:
        """The software device for this frame's geometry, made on first use (or when it changes)."""
        key = (frame.intrinsics, float(frame.depth_scale))
        if self._camera is not None and self._camera.key == key:
            return self._camera
        self.close()
        try:
            self._camera = SoftCamera(frame.intrinsics, float(frame.depth_scale))
            if self._blocks is None:
                self._blocks = build_filters(self.opts)
                self._align = rs_module().align(rs_module().stream.color)
        except RuntimeError as e:
            k = frame.intrinsics
            raise UserError(
                f"librealsense cannot run the depth filters on {k.width}x{k.height} frames: {e}") from None
        return self._camera

    def close(self) -> None:
        """Release the software device (a later frame makes a new one)."""
        if self._camera is not None:
            camera, self._camera = self._camera, None
            camera.close()
