"""A synthetic depth frame with what makes HHA hard: a tilted camera, planes at several
orientations and sensor-like holes. Used to time and test HHA without a camera or a dataset."""

from __future__ import annotations

import math

import numpy as np
import torch

Camera = tuple[float, float, float, float]


def synthetic_room_depth(height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, Camera]:
    """A room seen by a tilted camera (floor, two walls, a box) with sensor-like holes.

    Holes: an invalid band on the left (stereo shadow), a dark patch, 3 % dropouts. Returns
    (depth float32 metres (H, W), (fx, fy, cx, cy) 0-based).

    >>> depth, cam = synthetic_room_depth(48, 64)
    >>> tuple(depth.shape), bool((depth == 0).any())
    ((48, 64), True)
    """
    rng = np.random.default_rng(seed)
    f = 0.96 * width
    cam = (f, f, (width - 1) / 2, (height - 1) / 2)
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    rays = np.stack(((u - cam[2]) / f, (v - cam[3]) / f, np.ones_like(u)), -1)
    pitch, roll, yaw = math.radians(18), math.radians(4), math.radians(25)
    rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    rz = np.array([[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]])
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    rot = rz @ rx @ ry
    depth = np.full((height, width), np.inf)
    for i, (normal, dist) in enumerate((((0, 1, 0), 1.3), ((0, 0, 1), 3.5), ((1, 0, 0), 2.2), ((0, 0, 1), 2.0))):
        den = rays @ (rot @ np.asarray(normal, float))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(den > 1e-9, dist / den, np.inf)
        if i == 3:  # a box face 0.8 m wide standing on the floor
            pts = t[..., None] * rays @ rot
            t = np.where((np.abs(pts[..., 0]) < 0.4) & (pts[..., 1] > 0.5), t, np.inf)
        depth = np.minimum(depth, t)
    depth[~np.isfinite(depth)] = 0
    depth[:, : width // 20] = 0
    depth[height // 6 : height // 3, width // 2 : width // 2 + width // 8] = 0
    depth[rng.random(depth.shape) < 0.03] = 0
    depth = np.round(depth * 1000) / 1000
    return torch.from_numpy(depth.astype(np.float32)), cam
