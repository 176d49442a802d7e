"""Depth of a camera of its own -> aligned to color, by librealsense's `rs.align` itself.

A ROS bag may hold realsense-ros' unaligned depth (`…/depth/image_rect_raw`) with its own camera
info and the depth -> color extrinsics. The pair is pushed into a `pyrealsense2.software_device`
whose depth and color streams carry those intrinsics and that extrinsic
(`depth_filters.SoftCamera`), and `rs.align(color)` maps depth onto the color pixels exactly as
it does for a live camera: the same rounding, the same holes, the same occlusion handling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.sources.depth_filters import SoftCamera, rs_module
from sgnet.frames import Intrinsics


@dataclass(frozen=True)
class DepthCalibration:
    """What aligning needs: the depth camera, and depth -> color (p_color = rotation @ p_depth + t)."""

    depth: Intrinsics
    rotation: np.ndarray  # 3x3
    translation: np.ndarray  # metres

    def rs_extrinsics(self) -> tuple[list[float], list[float]]:
        """librealsense's form: the rotation column-major."""
        return [float(v) for v in np.asarray(self.rotation).ravel(order="F")], [float(v) for v in self.translation]


class DepthAligner:
    """`align(color, depth)` -> depth (uint16, raw units) on the color camera's pixels."""

    def __init__(self, color: Intrinsics, calibration: DepthCalibration, depth_scale: float) -> None:
        self._camera = SoftCamera(color, depth_scale, calibration.depth, calibration.rs_extrinsics())
        self._align = rs_module().align(rs_module().stream.color)
        self._size = (color.height, color.width)

    def align(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        frames = self._camera.frameset(color, depth)
        out = self._align.process(frames).get_depth_frame()
        aligned = np.array(np.asanyarray(out.get_data()), dtype=np.uint16, copy=True)
        if aligned.shape != self._size:
            raise RuntimeError(f"aligned depth is {aligned.shape[1]}x{aligned.shape[0]}, expected "
                               f"{self._size[1]}x{self._size[0]}")
        return aligned

    def close(self) -> None:
        self._camera.close()
