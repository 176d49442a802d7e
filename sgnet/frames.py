"""The one data type that flows: frames in, segmentations out.

Every source yields `RGBDFrame`; every sink takes `Segmentation`. They are frozen so a
frame handed to several threads (GUI, video writer, logger) cannot be changed under them;
the arrays inside are made read-only for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assets.classes import ClassSet, builtin_class_set

NO_PREDICTION = 255
"""Label value for pixels the model gave no prediction for (and the dataset ignore index)."""

MODEL_STAGES = ("upload", "spatial", "model", "postprocess")
"""The keys of `Segmentation.timings` a `Segmenter` fills, in the order they run."""

SEGMENT_STAGES = ("upload", "spatial", "model", "propagate", "postprocess")
"""The stages the latency log, the exit table and the window list, in this order: a `Segmenter`'s
plus video mode's `propagate` (carrying a keyframe's result to a later frame); a stage a run does
not have is an empty cell in the log and no row in the table; any other key an engine adds follows."""


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of the color camera after alignment, 0-based pixel centres
    (the librealsense convention: pixel (0, 0) is centred at x = 0)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(f"Intrinsics: image size must be positive, got {self.width}x{self.height}")
        for name in ("fx", "fy", "cx", "cy"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"Intrinsics: {name} must be finite, got {getattr(self, name)}")
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"Intrinsics: focal lengths must be positive, got fx={self.fx}, fy={self.fy}")

    def as_tuple(self) -> tuple[float, float, float, float]:
        """(fx, fy, cx, cy), the order `hha.depth_to_xyz` accepts."""
        return (self.fx, self.fy, self.cx, self.cy)

    def scaled(self, width: int, height: int) -> Intrinsics:
        """Intrinsics of the same camera resampled to width x height (pixel-centre aligned resize)."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(
            width=int(width),
            height=int(height),
            fx=self.fx * sx,
            fy=self.fy * sy,
            cx=(self.cx + 0.5) * sx - 0.5,
            cy=(self.cy + 0.5) * sy - 0.5,
        )

    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


def _frozen_array(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


@dataclass(frozen=True)
class RGBDFrame:
    """One aligned color + depth pair as it left the source.

    color: uint8 HxWx3 in RGB order; depth: uint16 HxW in raw device units (0 = no data),
    aligned to color; depth_scale: metres per depth unit; device_ts_ms: the device's own
    timestamp; arrived_ns: `time.monotonic_ns()` when the frame reached the host;
    gravity: the unit "down" vector in the colour camera's frame (x right, y down, z forward, the
    convention of `hha.depth_to_hha`'s gravity) measured by the camera's accelerometer, or None
    when the source has no IMU (HHA then estimates it from the depth image);
    stamp_ns: the source's own timestamp in whole nanoseconds when it has one that a float of
    milliseconds cannot hold exactly (a ROS header stamp), so outputs can give it back unchanged
    (`--save-rosbag`); None otherwise.
    """

    color: np.ndarray
    depth: np.ndarray
    depth_scale: float
    intrinsics: Intrinsics
    index: int
    device_ts_ms: float = 0.0
    arrived_ns: int = 0
    gravity: tuple[float, float, float] | None = None
    stamp_ns: int | None = None

    def __post_init__(self) -> None:
        c, d = self.color, self.depth
        if not isinstance(c, np.ndarray) or c.dtype != np.uint8 or c.ndim != 3 or c.shape[2] != 3:
            raise ValueError(f"RGBDFrame.color must be a uint8 HxWx3 array, got {_describe(c)}")
        if not isinstance(d, np.ndarray) or d.dtype != np.uint16 or d.ndim != 2:
            raise ValueError(f"RGBDFrame.depth must be a uint16 HxW array, got {_describe(d)}")
        if c.shape[:2] != d.shape:
            raise ValueError(f"RGBDFrame: color {c.shape[:2]} and depth {d.shape} must be aligned (same size)")
        intr = self.intrinsics
        if (intr.height, intr.width) != d.shape:
            raise ValueError(
                f"RGBDFrame: intrinsics are for {intr.width}x{intr.height} but the frame is {d.shape[1]}x{d.shape[0]}"
            )
        if not (np.isfinite(self.depth_scale) and self.depth_scale > 0):
            raise ValueError(
                f"RGBDFrame.depth_scale must be a positive number of metres per unit, got {self.depth_scale}"
            )
        object.__setattr__(self, "color", _frozen_array(c))
        object.__setattr__(self, "depth", _frozen_array(d))

    @property
    def height(self) -> int:
        return self.depth.shape[0]

    @property
    def width(self) -> int:
        return self.depth.shape[1]

    def depth_m(self) -> np.ndarray:
        """Depth in metres as float32 (0 where the sensor had no data)."""
        return self.depth.astype(np.float32) * np.float32(self.depth_scale)


@dataclass(frozen=True)
class Segmentation:
    """The model's answer for one frame.

    labels: uint8 HxW class ids into `classes`, `NO_PREDICTION` (255) where none;
    timings: milliseconds per pipeline stage, in the order the stages ran;
    classes: what the ids mean (names, colours): the renderer, legend and sinks read it here,
    so a 13-class model is drawn in its own colours. NYUv2-40 unless the segmenter says otherwise;
    confidence: float32 HxW in [0, 1], the winning class's probability (0 where no prediction), or
    None when whoever labelled the frame did not say. Sinks, streams and the window's confidence
    view read it; video mode decides its keyframes by it;
    keyframe: False when video mode carried an earlier keyframe's result to this frame instead of
    running the network on it (the latency log's `keyframe` column, the HUD's keyframe rate).
    """

    frame: RGBDFrame
    labels: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    classes: ClassSet = field(default_factory=lambda: builtin_class_set("nyu40"))
    confidence: np.ndarray | None = None
    keyframe: bool = True

    def __post_init__(self) -> None:
        lab = self.labels
        if not isinstance(lab, np.ndarray) or lab.dtype != np.uint8 or lab.shape != self.frame.depth.shape:
            raise ValueError(
                f"Segmentation.labels must be a uint8 array of the frame's size {self.frame.depth.shape}, "
                f"got {_describe(lab)}"
            )
        object.__setattr__(self, "labels", _frozen_array(lab))
        conf = self.confidence
        if conf is not None:
            if not isinstance(conf, np.ndarray) or conf.dtype != np.float32 or conf.shape != lab.shape:
                raise ValueError(
                    f"Segmentation.confidence must be a float32 array of the frame's size {lab.shape}, "
                    f"got {_describe(conf)}"
                )
            object.__setattr__(self, "confidence", _frozen_array(conf))

    @property
    def total_ms(self) -> float:
        return float(sum(self.timings.values()))


class SegmenterLike(Protocol):
    """What the app relies on in anything that labels frames: `sgnet.Segmenter` today, the
    coming engines and temporal layer tomorrow. The pipeline calls `segment`; the window, the
    start-up line and the exit table name the model by the other attributes."""

    model_name: str
    device: Any  # a torch.device, or its name
    precision: str  # one of sgnet.forward.PRECISIONS
    weights: str | Path | None  # the file the weights came from, None for untrained ones
    classes: ClassSet  # the class set of its labels (legend, colours, sinks)

    def segment(self, frame: RGBDFrame) -> Segmentation: ...


def _describe(a: object) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.dtype} array of shape {a.shape}"
    return type(a).__name__
