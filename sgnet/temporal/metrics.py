"""What video mode is judged by: mIoU with "no prediction" counted as wrong, and flicker.

Flicker is the share of pixels whose label changes between consecutive frames *after motion
compensation*: each pixel of frame t is moved through its depth and the true camera motion into
frame t-1 and compared with the label there, on pixels seen in both frames (depth test, as
`sgnet.temporal.geometry.depth_agrees`). In a rendered fly-through every surface is static, so a
compensated change is pure flicker (plus a small floor from resampling at label edges and depth
noise: the ground truth's own score under the same compensation).
"""

from __future__ import annotations

import numpy as np

from sgnet.frames import NO_PREDICTION
from sgnet.temporal.geometry import backproject, depth_agrees, inside, reproject


def confusion_with_misses(gt: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C + 1) counts of (true class, predicted class) over pixels with a true class; a prediction
    outside 0..C-1 (255) lands in column C, so it counts against the true class's IoU."""
    keep = gt < num_classes
    g = gt[keep].astype(np.int64)
    p = pred[keep].astype(np.int64)
    p = np.where(p < num_classes, p, num_classes)
    return np.bincount(g * (num_classes + 1) + p, minlength=num_classes * (num_classes + 1)).reshape(
        num_classes, num_classes + 1)


def mean_iou(hist: np.ndarray) -> float:
    """mIoU (0..1) over classes seen in the truth or predicted, from `confusion_with_misses` counts.

    >>> round(mean_iou(np.array([[3, 1, 0], [0, 2, 2]])), 4)   # IoU 3/4 and 2/5
    0.575
    """
    c = hist.shape[0]
    tp = np.diag(hist[:, :c]).astype(np.float64)
    union = hist.sum(axis=1) + hist[:, :c].sum(axis=0) - tp
    defined = union > 0
    return float((tp[defined] / union[defined]).mean()) if defined.any() else float("nan")


def compensated_changes(prev_labels: np.ndarray, labels: np.ndarray, prev_depth_m: np.ndarray, depth_m: np.ndarray,
                        k: np.ndarray, prev_from_now: np.ndarray, step: int = 2) -> tuple[int, int]:  # fmt: skip
    """(changed, compared): pixels of this frame (every `step`-th row and column) whose label differs
    from the previous frame's label at the same surface point; only pixels with depth in both frames,
    visible in both, with a label in both (not 255), are compared. `prev_from_now`: 4x4 camera motion
    (points of this camera -> the previous camera)."""
    h, w = labels.shape
    ys = np.arange(0, h, step, dtype=np.float32)
    xs = np.arange(0, w, step, dtype=np.float32)
    d = depth_m[::step, ::step]
    x, y, z = reproject(backproject(d, xs, ys, k), prev_from_now, k)
    ok = (d > 0) & inside(x, y, w, h)
    xi = np.clip(np.rint(x), 0, w - 1).astype(np.intp)
    yi = np.clip(np.rint(y), 0, h - 1).astype(np.intp)
    ok &= depth_agrees(z, prev_depth_m[yi, xi])
    now = labels[::step, ::step]
    before = prev_labels[yi, xi]
    ok &= (now != NO_PREDICTION) & (before != NO_PREDICTION)
    return int((now != before)[ok].sum()), int(ok.sum())
