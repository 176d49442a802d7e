"""Pictures of a segmentation: overlay, colorized labels and depth, side-by-side, legend data.

All functions take and return RGB uint8 images (sinks convert to BGR for OpenCV) and are
pure: the GUI, the video writer and the screenshot writer share them. Class colours and names
come from the class set passed in (a `Segmentation` carries its own, `seg.classes`), never
from a global: a 13-class model is drawn in its 13 colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from assets.classes import ClassSet
from sgnet.frames import NO_PREDICTION, Segmentation

View = Literal["overlay", "side-by-side", "labels"]
VIEWS: tuple[str, ...] = ("overlay", "side-by-side", "labels")
DEFAULT_ALPHA = 0.5
DEPTH_RANGE_M = (0.2, 6.0)  # fixed colormap range, so colors do not flicker from frame to frame


def colorize_labels(labels: np.ndarray, classes: ClassSet) -> np.ndarray:
    """Class ids -> the RGB colors of `classes` (255, "no prediction", has its own color)."""
    return classes.colorize(labels)


def overlay(color: np.ndarray, labels: np.ndarray, alpha: float = DEFAULT_ALPHA, *, classes: ClassSet) -> np.ndarray:
    """Alpha blend of the colors of `classes` over the color image; pixels without a prediction stay unblended."""
    import cv2

    if color.shape[:2] != labels.shape:
        raise ValueError(f"overlay: color {color.shape[:2]} and labels {labels.shape} differ in size")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"overlay alpha must be in [0, 1], got {alpha}")
    out = cv2.addWeighted(np.ascontiguousarray(color), 1.0 - alpha, colorize_labels(labels, classes), alpha, 0.0)
    none = labels == NO_PREDICTION
    if none.any():
        out[none] = color[none]
    return out


def colorize_depth(depth: np.ndarray, depth_scale: float, range_m: tuple[float, float] = DEPTH_RANGE_M) -> np.ndarray:
    """Depth (raw units) -> RGB with OpenCV's TURBO colormap over range_m; no data (0) is black."""
    import cv2

    near, far = range_m
    if not far > near:
        raise ValueError(f"depth range must have far > near, got {range_m}")
    metres = depth.astype(np.float32) * np.float32(depth_scale)
    scaled = np.clip((metres - near) * (255.0 / (far - near)), 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(scaled, cv2.COLORMAP_TURBO)
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    rgb[depth == 0] = 0
    return rgb


def colorize_confidence(confidence: np.ndarray | None, labels: np.ndarray) -> np.ndarray:
    """Per-pixel confidence (the winning class's probability) -> RGB with OpenCV's INFERNO colormap:
    black = unsure, yellow = certain. No prediction is black; a result without confidence (a
    segmenter that does not give one) is mid grey, so the view never shows a fake certainty."""
    import cv2

    if confidence is None:
        return np.full((*labels.shape, 3), 128, np.uint8)
    scaled = np.rint(np.clip(confidence, 0.0, 1.0) * 255.0).astype(np.uint8)
    rgb = np.ascontiguousarray(cv2.applyColorMap(scaled, cv2.COLORMAP_INFERNO)[:, :, ::-1])
    rgb[labels == 255] = 0
    return rgb


def side_by_side(*images: np.ndarray) -> np.ndarray:
    """Images next to each other, left to right; all must share one height."""
    if not images:
        raise ValueError("side_by_side needs at least one image")
    heights = {im.shape[0] for im in images}
    if len(heights) != 1:
        raise ValueError(f"side_by_side: images have different heights {sorted(heights)}")
    return np.ascontiguousarray(np.concatenate(images, axis=1))


def render_view(seg: Segmentation, view: str, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """One picture of a result: "overlay", "labels", or "side-by-side" (color | class colors | depth),
    in the colors of the result's own class set."""
    frame = seg.frame
    if view == "overlay":
        return overlay(frame.color, seg.labels, alpha, classes=seg.classes)
    if view == "labels":
        return colorize_labels(seg.labels, seg.classes)
    if view == "side-by-side":
        labels_rgb = colorize_labels(seg.labels, seg.classes)
        return side_by_side(frame.color, labels_rgb, colorize_depth(frame.depth, frame.depth_scale))
    raise ValueError(f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")


def view_size(view: str, width: int, height: int) -> tuple[int, int]:
    """(width, height) of `render_view` output for frames of width x height."""
    return (3 * width if view == "side-by-side" else width), height


@dataclass(frozen=True)
class LegendEntry:
    class_id: int
    name: str
    rgb: tuple[int, int, int]
    share: float  # fraction of all pixels of the frame


def legend(labels: np.ndarray, classes: ClassSet, min_share: float = 0.0) -> list[LegendEntry]:
    """Classes present in `labels` with their name and color in `classes` and their pixel share,
    largest first (no-prediction pixels are left out)."""
    names = classes.names
    counts = np.bincount(labels.ravel(), minlength=256)
    total = max(int(labels.size), 1)
    pal = classes.palette
    out = []
    for cid in np.flatnonzero(counts):
        if cid == NO_PREDICTION:
            continue
        share = counts[cid] / total
        if share < min_share:
            continue
        name = names[cid] if cid < len(names) else f"class {cid}"
        out.append(LegendEntry(int(cid), name, tuple(int(v) for v in pal[cid]), float(share)))
    out.sort(key=lambda e: (-e.share, e.class_id))
    return out
