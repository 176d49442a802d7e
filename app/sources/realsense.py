"""A live Intel RealSense camera through pyrealsense2.

The device is picked (first one, or by serial), a D400 depth preset applied when asked
(`presets`), a depth (Z16) + color (RGB8) profile of the asked size is resolved before anything
streams, and each frameset is filtered, aligned to color and copied out in the capture thread.
Intrinsics and depth scale come from the device. A camera with an accelerometer (D435i, D455)
gives every frame the gravity it measures (`imu`), which HHA then uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from app.errors import UserError
from app.sources.base import Source, SourceError, SourceInfo, SourceItem, SourceOptions
from app.sources.imu import MotionGravity, accel_profile
from app.sources.presets import apply_preset, check_preset_options, load_preset_json
from app.sources.rs_frames import FramesetConverter, clock_of, rs_module

DEFAULT_SIZE = (640, 480)  # every D400 model offers 640x480 @ 30 FPS for both depth and color
DEFAULT_FPS = 30
NO_CAMERA = (
    "no Intel RealSense camera found: plug one in (USB 3), or run without a camera with "
    "--camera demo or a recording (--camera recording.db3)"
)
FRAME_TIMEOUT_MS = 5000


def find_device(serial: str | None = None, context: Any = None, no_camera: str = NO_CAMERA) -> Any:
    """The connected device to use (first one, or the one with this serial), or a UserError
    (`no_camera` is the message when none is connected)."""
    rs = rs_module()
    ctx = context if context is not None else rs.context()
    try:
        devices = list(ctx.query_devices())
    except RuntimeError as e:
        raise UserError(f"cannot list RealSense devices ({e}); check the USB connection and udev rules") from None
    if not devices:
        raise UserError(no_camera)
    if serial is None:
        return devices[0]
    serials = [_info(d, rs.camera_info.serial_number) for d in devices]
    if serial not in serials:
        raise UserError(f"no RealSense camera with serial {serial}; connected: {', '.join(serials)}")
    return devices[serials.index(serial)]


def _info(device: Any, key: Any) -> str:
    try:
        return str(device.get_info(key)) if device.supports(key) else "?"
    except RuntimeError:
        return "?"


def describe_device(device: Any) -> str:
    rs = rs_module()
    return f"{_info(device, rs.camera_info.name)} (serial {_info(device, rs.camera_info.serial_number)})"


def offered_profiles(device: Any) -> list[tuple[int, int, int]]:
    """(width, height, fps) that the device offers for both Z16 depth and RGB8 color."""
    rs = rs_module()
    depth, color = set(), set()
    for sensor in device.query_sensors():
        for p in sensor.get_stream_profiles():
            if not p.is_video_stream_profile():
                continue
            v = p.as_video_stream_profile()
            key = (v.width(), v.height(), p.fps())
            if p.stream_type() == rs.stream.depth and p.format() == rs.format.z16:
                depth.add(key)
            elif p.stream_type() == rs.stream.color and p.format() == rs.format.rgb8:
                color.add(key)
    return sorted(depth & color)


def make_config(device: Any, width: int, height: int, fps: int, record_to: str | None = None) -> tuple[Any, Any]:
    """A (pipeline, config) for depth + color at width x height @ fps on `device`, or a UserError
    that lists what the device does offer."""
    rs = rs_module()
    pipe = rs.pipeline()
    pipe.set_device(device)
    cfg = rs.config()
    cfg.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
    cfg.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
    if record_to is not None:
        cfg.enable_record_to_file(record_to)
    if not cfg.can_resolve(rs.pipeline_wrapper(pipe)):
        offered = ", ".join(f"{w}x{h}@{f}" for w, h, f in offered_profiles(device)) or "none"
        raise UserError(
            f"{describe_device(device)} cannot stream depth+color at {width}x{height} @ {fps} FPS; "
            f"pick one of: {offered} (--width/--height/--fps)"
        )
    return pipe, cfg


class RealSenseSource(Source):
    """Live frames from a RealSense camera; `device` lets tests pass a pyrealsense2 software_device."""

    def __init__(self, serial: str | None = None, options: SourceOptions | None = None, device: Any = None) -> None:
        super().__init__()
        opts = options or SourceOptions()
        preset_text = check_preset_options(opts.preset, opts.preset_json)
        if device is None:
            self._ctx = rs_module().context()  # kept alive as long as the device is used
            device = find_device(serial, self._ctx)
        self._device = device
        self._settings: list[str] = []  # said in the description: "preset high-accuracy", "gravity from its IMU"
        if opts.preset is not None:
            self._settings.append(apply_preset(device, opts.preset, describe_device(device)))
        if preset_text is not None and opts.preset_json is not None:
            self._settings.append(load_preset_json(device, preset_text, opts.preset_json, describe_device(device)))
        self._imu = accel_profile(device) is not None
        if self._imu:
            self._settings.append("gravity from its IMU")
        self._motion: MotionGravity | None = None
        self._report: list[str] = []
        self._width = opts.width or DEFAULT_SIZE[0]
        self._height = opts.height or DEFAULT_SIZE[1]
        self._fps = opts.fps or DEFAULT_FPS
        self._pipe, self._cfg = make_config(self._device, self._width, self._height, self._fps)
        self._filters = opts.filters
        self._converter: FramesetConverter | None = None
        self._clock = "device"
        self._info = self._make_info()

    def _make_info(self) -> SourceInfo:
        return SourceInfo(
            kind="realsense",
            description=", ".join([f"{describe_device(self._device)}, {self._width}x{self._height} @ {self._fps} FPS",
                                   *self._settings]),
            width=self._width,
            height=self._height,
            fps=float(self._fps),
            live=True,
            clock=self._clock,  # type: ignore[arg-type]
        )

    @property
    def info(self) -> SourceInfo:
        return self._info

    def _start(self) -> None:
        try:
            profile = self._pipe.start(self._cfg)
        except RuntimeError as e:
            raise UserError(
                f"cannot start {describe_device(self._device)}: {e} (is another program using the camera?)"
            ) from None
        try:
            scale = float(profile.get_device().first_depth_sensor().get_depth_scale())
        except RuntimeError:
            scale = 0.001
        self._converter = FramesetConverter(self._filters, scale)
        self._motion = MotionGravity.start_for(self._device, profile.get_stream(rs_module().stream.color))
        if self._imu and self._motion is None:
            self._report = [f"the IMU of {describe_device(self._device)} would not start: HHA estimated gravity "
                            "from the depth image instead"]

    def end_report(self) -> list[str]:
        return list(self._report)

    def _stop(self) -> None:
        if self._motion is not None:
            self._motion.stop()
            self._motion = None
        with contextlib.suppress(RuntimeError):  # already stopped (e.g. the camera was unplugged)
            self._pipe.stop()

    def _frames(self) -> Iterator[SourceItem]:
        assert self._converter is not None
        index = 0
        while self._started:
            ok, frames = self._pipe.try_wait_for_frames(FRAME_TIMEOUT_MS)
            if not self._started:
                return
            if not ok:
                raise SourceError(
                    f"{describe_device(self._device)} sent no frames for {FRAME_TIMEOUT_MS // 1000} s: "
                    "check the cable (USB 3) and that no other program uses the camera"
                )
            if index == 0:
                clock = clock_of(frames.get_frame_timestamp_domain())
                if clock != self._clock:
                    self._clock = clock
                    self._info = self._make_info()
            item = self._converter.convert(frames, index)
            yield self._motion.apply(item) if self._motion is not None else item
            index += 1
