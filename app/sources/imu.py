"""Gravity from a RealSense accelerometer (D435i, D455, recordings of them), in the colour frame.

At rest an accelerometer measures the reaction to gravity: librealsense reports it in the depth
sensor's axes (x right, y down, z forward), so a camera standing level reads about (0, -9.8, 0).
The "down" vector HHA wants is the opposite, turned into the colour camera's frame by the
motion -> colour extrinsics (a rotation; translation does not move a direction). Samples are
averaged over the last `WINDOW` readings (about half a second at the D400's slowest accel
rate) to calm sensor noise and small movements.

The motion sensor is opened on its own, beside the pipeline that streams depth and colour, so
the frames, their pairing and the recording checks stay exactly as without an IMU; its samples
arrive on librealsense's callback thread and are read by the capture thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import deque
from typing import Any

import numpy as np

from app.sources.base import SourceItem
from app.sources.depth_filters import rs_module
from sgnet.frames import RGBDFrame

WINDOW = 32
MIN_NORM = 1.0  # m/s^2: a reading this small is no gravity (free fall, a dead sensor)


def down_vector(accel: np.ndarray, rotation: np.ndarray) -> tuple[float, float, float] | None:
    """The unit down vector in the colour frame from a mean accelerometer reading (m/s^2) and the
    motion -> colour rotation; None when the reading cannot be gravity."""
    a = np.asarray(accel, dtype=np.float64)
    n = float(np.linalg.norm(a))
    if not np.isfinite(n) or n < MIN_NORM:
        return None
    d = -(np.asarray(rotation, dtype=np.float64) @ a) / n
    return float(d[0]), float(d[1]), float(d[2])


class GravityTracker:
    """Running mean of the last `WINDOW` accelerometer samples -> `down()`."""

    def __init__(self, rotation: np.ndarray, window: int = WINDOW) -> None:
        self.rotation = np.asarray(rotation, dtype=np.float64)
        self._samples: deque[tuple[float, float, float]] = deque(maxlen=window)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, x: float, y: float, z: float) -> None:
        with self._lock:
            self._samples.append((x, y, z))
            self.count += 1

    def down(self) -> tuple[float, float, float] | None:
        with self._lock:
            if not self._samples:
                return None
            mean = np.mean(np.asarray(self._samples, dtype=np.float64), axis=0)
        return down_vector(mean, self.rotation)

    def apply(self, item: SourceItem) -> SourceItem:
        """`item` with the current gravity (unchanged when it is a bad frame or none is known yet)."""
        if not isinstance(item, RGBDFrame):
            return item
        down = self.down()
        return item if down is None else dataclasses.replace(item, gravity=down)


def accel_profile(device: Any) -> tuple[Any, Any] | None:
    """(motion sensor, accel stream profile) of a device or playback, None without an accelerometer."""
    rs = rs_module()
    for sensor in device.query_sensors():
        profiles = [p for p in sensor.get_stream_profiles()
                    if p.stream_type() == rs.stream.accel and p.is_motion_stream_profile()]
        if profiles:
            return sensor, min(profiles, key=lambda p: p.fps())
    return None


def _rotation(ext: Any) -> np.ndarray:
    return np.asarray(ext.rotation, dtype=np.float64).reshape(3, 3, order="F")  # librealsense: column-major


def motion_to_color(device: Any, profile: Any, color_profile: Any) -> np.ndarray:
    """The motion -> colour rotation. A recording may lack the motion stream's extrinsics
    (librealsense's recorder keeps only the video streams'); librealsense reports IMU samples in the
    depth sensor's axes, so depth -> colour turns them then."""
    rs = rs_module()
    with contextlib.suppress(RuntimeError):
        return _rotation(profile.get_extrinsics_to(color_profile))
    for sensor in device.query_sensors():
        for p in sensor.get_stream_profiles():
            if p.stream_type() == rs.stream.depth:
                with contextlib.suppress(RuntimeError):
                    return _rotation(p.get_extrinsics_to(color_profile))
    return np.eye(3)


class MotionGravity:
    """The device's accelerometer streaming into a `GravityTracker` (see the module docstring)."""

    def __init__(self, device: Any, sensor: Any, profile: Any, color_profile: Any) -> None:
        self.tracker = GravityTracker(motion_to_color(device, profile, color_profile))
        self._sensor = sensor
        self._profile = profile
        self._running = False

    @classmethod
    def start_for(cls, device: Any, color_profile: Any) -> MotionGravity | None:
        """Started on the device's accelerometer; None when it has none or it cannot be started
        (the frames then carry no gravity and HHA estimates it, as without an IMU)."""
        found = accel_profile(device)
        if found is None:
            return None
        try:
            motion = cls(device, found[0], found[1], color_profile)
            motion.start()
        except RuntimeError:
            return None
        return motion

    def start(self) -> None:
        rs = rs_module()

        def on_frame(frame: Any) -> None:
            if frame.is_motion_frame() and frame.get_profile().stream_type() == rs.stream.accel:
                v = frame.as_motion_frame().get_motion_data()
                self.tracker.add(float(v.x), float(v.y), float(v.z))

        self._sensor.open(self._profile)
        try:
            self._sensor.start(on_frame)
        except RuntimeError:
            with contextlib.suppress(RuntimeError):
                self._sensor.close()
            raise
        self._running = True

    def apply(self, item: SourceItem) -> SourceItem:
        return self.tracker.apply(item)

    def stop(self) -> None:
        if self._running:
            self._running = False
            with contextlib.suppress(RuntimeError):
                self._sensor.stop()
            with contextlib.suppress(RuntimeError):
                self._sensor.close()
