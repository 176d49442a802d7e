"""Write and read RealSense recordings with librealsense itself (no mocking, no hand-made bags).

`RecordingWriter` builds a `pyrealsense2.software_device` with a depth sensor (Z16, depth
units 0.001 m) and a colour sensor (RGB8) whose stream profiles carry the given intrinsics,
wraps it in `rs.recorder`, and pushes each frame with `on_video_frame`, increasing frame
numbers and timestamps. librealsense >= 2.56 writes a ROS2 bag (.db3). `read_recording`
replays a file through a pipeline in non-real-time mode, so no frame is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sgnet.frames import Intrinsics


@dataclass(frozen=True)
class RecordedFrame:
    index: int  # frame number as recorded
    timestamp_ms: float
    color: np.ndarray  # uint8 HxWx3 RGB
    depth: np.ndarray  # uint16 HxW raw units
    depth_units: float


def frame_digest(color: np.ndarray, depth: np.ndarray) -> str:
    """A short fingerprint of one colour + depth pair (to check a replay without keeping frames)."""
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(depth).tobytes())
    h.update(np.ascontiguousarray(color).tobytes())
    return h.hexdigest()


class RecordingWriter:
    """Context manager: `with RecordingWriter(path, intr) as rec: rec.write(color, depth)`."""

    def __init__(self, path: str | Path, intrinsics: Intrinsics, fps: int = 30, depth_units: float = 0.001) -> None:
        import pyrealsense2 as rs

        self._rs = rs
        self.path = Path(path)
        self.intr = intrinsics
        self.fps = int(fps)
        self.depth_units = float(depth_units)
        self.count = 0
        w, h = intrinsics.width, intrinsics.height
        ri = rs.intrinsics()
        ri.width, ri.height = w, h
        ri.fx, ri.fy, ri.ppx, ri.ppy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
        ri.model = rs.distortion.none
        ri.coeffs = [0.0] * 5
        self._device = rs.software_device()
        self._depth_sensor = self._device.add_sensor("Depth")
        self._color_sensor = self._device.add_sensor("Color")
        self._depth_profile = self._depth_sensor.add_video_stream(
            self._stream(rs.stream.depth, rs.format.z16, 2, 0, ri)
        )
        self._color_profile = self._color_sensor.add_video_stream(
            self._stream(rs.stream.color, rs.format.rgb8, 3, 1, ri)
        )
        self._depth_sensor.add_read_only_option(rs.option.depth_units, self.depth_units)
        # depth is already aligned to colour: same intrinsics, identity extrinsics
        ext = rs.extrinsics()
        ext.rotation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        ext.translation = [0.0, 0.0, 0.0]
        self._depth_profile.register_extrinsics_to(self._color_profile, ext)
        self._recorder = rs.recorder(str(self.path), self._device)
        self._depth_sensor.open(self._depth_profile)
        self._color_sensor.open(self._color_profile)
        # frames reach the recorder as they are pushed; the callbacks only keep the sensors streaming
        self._depth_sensor.start(lambda f: None)
        self._color_sensor.start(lambda f: None)
        self._open = True

    def _stream(self, kind, fmt, bpp: int, uid: int, ri):
        vs = self._rs.video_stream()
        vs.type = kind
        vs.index = 0
        vs.uid = uid
        vs.width, vs.height = ri.width, ri.height
        vs.fps = self.fps
        vs.bpp = bpp
        vs.fmt = fmt
        vs.intrinsics = ri
        return vs

    def write(self, color: np.ndarray, depth: np.ndarray) -> None:
        """Append one aligned pair: colour uint8 HxWx3 RGB, depth uint16 HxW in depth units."""
        rs = self._rs
        h, w = self.intr.height, self.intr.width
        if color.dtype != np.uint8 or color.shape != (h, w, 3):
            raise ValueError(f"colour must be uint8 {h}x{w}x3, got {color.dtype} {color.shape}")
        if depth.dtype != np.uint16 or depth.shape != (h, w):
            raise ValueError(f"depth must be uint16 {h}x{w}, got {depth.dtype} {depth.shape}")
        ts = self.count * 1000.0 / self.fps
        for sensor, profile, arr, bpp in (
            (self._depth_sensor, self._depth_profile, depth, 2),
            (self._color_sensor, self._color_profile, color, 3),
        ):
            f = rs.software_video_frame()
            f.pixels = np.ascontiguousarray(arr)  # pyrealsense2 copies the buffer
            f.stride = w * bpp
            f.bpp = bpp
            f.timestamp = ts
            f.domain = rs.timestamp_domain.hardware_clock
            f.frame_number = self.count
            f.profile = profile.as_video_stream_profile()
            sensor.on_video_frame(f)
        self.count += 1

    def close(self) -> None:
        """Stop the sensors and let the recorder finish the file."""
        if not self._open:
            return
        self._open = False
        for s in (self._depth_sensor, self._color_sensor):
            s.stop()
            s.close()
        del self._recorder  # the file is complete once the recorder is released
        self._recorder = None

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_recording(path: str | Path, timeout_ms: int = 3000) -> Iterator[RecordedFrame]:
    """Every frame of a recording, in order, as fast as it can be read (playback not real-time).

    Real-time mode is switched off on the resolved device *before* the pipeline starts:
    switching it after `start` races with the first frames, which are then lost or mispaired.
    """
    import time

    import pyrealsense2 as rs

    cfg = rs.config()
    cfg.enable_device_from_file(str(path), repeat_playback=False)
    pipe = rs.pipeline()
    resolved = cfg.resolve(rs.pipeline_wrapper(pipe))
    resolved.get_device().as_playback().set_real_time(False)
    profile = pipe.start(cfg)
    try:
        playback = profile.get_device().as_playback()
        playback.set_real_time(False)
        units = profile.get_device().first_depth_sensor().get_depth_scale()
        colors: dict[int, np.ndarray] = {}
        depths: dict[int, tuple[float, np.ndarray]] = {}
        waited = 0.0
        while True:
            t0 = time.monotonic()
            ok, fs = pipe.try_wait_for_frames(100)
            if not ok:
                waited += time.monotonic() - t0
                if playback.current_status() == rs.playback_status.stopped or waited * 1000 > timeout_ms:
                    break
                continue
            waited = 0.0
            # paired by frame number, not by the frameset the syncer made: on a busy machine it may
            # hand over a colour frame and its depth in different framesets
            for f in fs:
                number = int(f.get_frame_number())
                if f.is_depth_frame():
                    depths[number] = (float(f.get_timestamp()), np.asanyarray(f.get_data()).copy())
                elif f.get_profile().stream_type() == rs.stream.color:
                    colors[number] = np.asanyarray(f.get_data()).copy()
            for number in sorted(colors.keys() & depths.keys()):
                ts, depth = depths.pop(number)
                yield RecordedFrame(index=number, timestamp_ms=ts, color=colors.pop(number), depth=depth,
                                    depth_units=float(units))
    finally:
        pipe.stop()


def recording_intrinsics(path: str | Path) -> Intrinsics:
    """The colour stream's intrinsics as stored in a recording."""
    import pyrealsense2 as rs

    ctx = rs.context()
    dev = ctx.load_device(str(path))
    try:
        for s in dev.query_sensors():
            for p in s.get_stream_profiles():
                if p.stream_type() == rs.stream.color:
                    i = p.as_video_stream_profile().get_intrinsics()
                    return Intrinsics(i.width, i.height, i.fx, i.fy, i.ppx, i.ppy)
    finally:
        ctx.unload_device(str(path)) if hasattr(ctx, "unload_device") else None
    raise ValueError(f"{path} has no colour stream")


def verify_recording(path: str | Path, digests: list[str], attempts: int = 3) -> tuple[int, int]:
    """Replay and compare each frame with the digest taken when it was written -> (matching, read).

    librealsense's playback now and then loses framesets of a good file (tests/playback_flaky.py),
    so a replay that falls short is tried again: one complete, identical replay proves the file;
    otherwise the best of `attempts` is returned (a damaged file fails every one)."""
    best = (0, 0)
    for _ in range(attempts):
        got = [frame_digest(f.color, f.depth) for f in read_recording(path)]
        matching = sum(1 for a, b in zip(got, digests, strict=False) if a == b)
        if matching == len(got) == len(digests):
            return matching, len(got)
        best = max(best, (matching, len(got)))
    return best
