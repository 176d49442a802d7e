"""In-painting depth holes: what the training augmentation does to a share of the renders and
what a live run can do to a real sensor's depth before the model sees it.

The shipped model learned from renders whose holes sit where its sensor model leaves them
(edges, stereo shadows, glass, screens) and reads "no depth" as evidence. Isolated holes it
never saw in such numbers (dark, shiny or textureless surfaces) read as window: real-val with
5 % of them added scores 16.5 % mIoU instead of 37.0, and 37.4 in-painted first
(docs/demo-model.md, scripts/sensor_holes.py).
"""

from __future__ import annotations

import cv2
import numpy as np


def nearest_fill(depth: np.ndarray) -> np.ndarray:
    """Each missing pixel (0) takes the depth of its nearest valid pixel (an all-missing map stays so)."""
    missing = depth <= 0
    if not missing.any() or missing.all():
        return depth
    _, nearest = cv2.distanceTransformWithLabels(
        missing.astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    valid_values = depth[~missing]  # label k (1-based) is the k-th valid pixel in scan order
    return valid_values[nearest - 1].astype(np.float32)


def fill_holes(depth: np.ndarray) -> np.ndarray:
    """Holes filled from their nearest valid neighbours and smoothed there, roughly what the
    in-painting of public datasets (NYUv2's labelled set) does; measured pixels are kept.
    Integer depth (sensor units) stays integer, rounded; a map without holes is returned as is."""
    filled = nearest_fill(depth)
    if filled is depth:
        return depth
    smooth = cv2.blur(filled, (7, 7))
    out = depth.copy()
    missing = depth <= 0
    if np.issubdtype(depth.dtype, np.integer):
        smooth = np.rint(smooth)
    out[missing] = smooth[missing]
    return out
