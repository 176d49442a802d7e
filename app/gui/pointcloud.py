"""The labeled point cloud the 3D view shows, and the orbit camera that looks at it.

Points are the screenshot bundle's (`app.sinks.ply.labeled_points`: camera frame, metres,
x right, y down, z forward), taken on every `stride`-th pixel, cut at `max_depth_m`, and
without the classes the user hid. The orbit camera circles a target point with "up" being
the sensor's up (-y), so the first view looks like the sensor's own, turned a little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from app.sinks.ply import PLY_DTYPE, labeled_points
from sgnet.frames import Intrinsics, Segmentation

DEFAULT_STRIDE = 2
DEFAULT_MAX_DEPTH_M = 8.0
PITCH_LIMIT = math.radians(85.0)
MIN_DISTANCE_M = 0.2


def strided_intrinsics(k: Intrinsics, stride: int, width: int, height: int) -> Intrinsics:
    """Intrinsics of the grid of every `stride`-th pixel (pixel u' of it is pixel u = u' * stride)."""
    return Intrinsics(width, height, k.fx / stride, k.fy / stride, k.cx / stride, k.cy / stride)


def cloud_points(
    seg: Segmentation,
    stride: int = DEFAULT_STRIDE,
    max_depth_m: float | None = DEFAULT_MAX_DEPTH_M,
    hidden: frozenset[int] = frozenset(),
) -> np.ndarray:
    """Structured `PLY_DTYPE` points of `seg` (see module doc), in the colors of its class set."""
    if stride < 1:
        raise ValueError(f"point-cloud stride must be >= 1, got {stride}")
    frame = seg.frame
    depth = frame.depth_m()[::stride, ::stride]
    labels = seg.labels[::stride, ::stride]
    if max_depth_m is not None:
        depth[depth > max_depth_m] = 0.0
    if hidden:
        depth[np.isin(labels, list(hidden))] = 0.0
    h, w = depth.shape
    k = strided_intrinsics(frame.intrinsics, stride, w, h)
    return labeled_points(depth, np.ascontiguousarray(labels), k, seg.classes.palette)


def split_points(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) float32 positions and (N, 3) uint8 colors: what the renderer process receives."""
    if points.dtype != PLY_DTYPE:
        raise ValueError(f"expected a {PLY_DTYPE} array")
    xyz = np.stack([points["x"], points["y"], points["z"]], axis=1)
    rgb = np.stack([points["red"], points["green"], points["blue"]], axis=1)
    return xyz, rgb


def xyz_rgb(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) float64 positions and (N, 3) float64 colors in [0, 1], as Open3D wants them."""
    if points.dtype != PLY_DTYPE:
        raise ValueError(f"expected a {PLY_DTYPE} array")
    xyz = np.stack([points["x"], points["y"], points["z"]], axis=1).astype(np.float64)
    rgb = np.stack([points["red"], points["green"], points["blue"]], axis=1).astype(np.float64) / 255.0
    return xyz, rgb


@dataclass(frozen=True)
class OrbitCamera:
    """yaw/pitch in radians around `target` (camera-frame metres) at `distance` metres."""

    target: tuple[float, float, float] = (0.0, 0.0, 2.0)
    distance: float = 3.0
    yaw: float = 0.4
    pitch: float = 0.3
    fov_deg: float = 60.0
    up: tuple[float, float, float] = (0.0, -1.0, 0.0)  # the sensor's up

    @staticmethod
    def looking_at(xyz: np.ndarray, aspect: float = 4 / 3) -> OrbitCamera:
        """A camera framing these points in a viewport of width/height `aspect`: target at their
        median, far enough that 90 % of them fit the narrower field of view."""
        cam = OrbitCamera()
        if xyz.size == 0:
            return cam
        target = np.median(xyz, axis=0)
        spread = float(np.percentile(np.linalg.norm(xyz - target, axis=1), 90))
        half_v = math.radians(cam.fov_deg) / 2
        half = min(half_v, math.atan(math.tan(half_v) * aspect))
        return replace(cam, target=tuple(float(v) for v in target), distance=max(1.1 * spread / math.tan(half), 1.0))

    def eye(self) -> tuple[float, float, float]:
        cp = math.cos(self.pitch)
        d = np.array([-math.sin(self.yaw) * cp, -math.sin(self.pitch), -math.cos(self.yaw) * cp])
        return tuple(float(v) for v in np.asarray(self.target) + self.distance * d)

    def orbited(self, dx_px: float, dy_px: float, rad_per_px: float = 0.01) -> OrbitCamera:
        """Dragging right turns the scene right; dragging up looks from higher up."""
        pitch = min(max(self.pitch - dy_px * rad_per_px, -PITCH_LIMIT), PITCH_LIMIT)
        return replace(self, yaw=self.yaw - dx_px * rad_per_px, pitch=pitch)

    def zoomed(self, wheel_steps: float) -> OrbitCamera:
        """One wheel step forward brings the camera 15 % closer."""
        return replace(self, distance=max(self.distance * (0.85**wheel_steps), MIN_DISTANCE_M))
