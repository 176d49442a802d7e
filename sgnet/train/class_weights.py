"""Class weights for the loss, from how often each class occurs in the training labels.

Small, rare classes (lamps, pillows, sinks) cover a tiny share of the pixels, so an
unweighted loss all but ignores them and mIoU, which counts every class equally, suffers.
`"sqrt"` weights each class by 1/sqrt(frequency) (gentler than inverse frequency, which
over-fits the rarest classes), normalised so the pixel-weighted mean weight is 1 and
clipped to `[0.2, max_weight]`; classes absent from the training set get weight 0.
"""

from __future__ import annotations

import numpy as np
import torch

from sgnet.data import SegDataset

CLASS_WEIGHTINGS = ("none", "sqrt")


def label_histogram(dataset: SegDataset, num_classes: int, limit: int | None = None) -> np.ndarray:
    """Pixel count per class over (the first `limit`) training labels; ignored pixels are skipped."""
    counts = np.zeros(num_classes, np.int64)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    for i in range(n):
        lab = dataset.read_label(i)
        counts += np.bincount(lab[lab < num_classes].ravel(), minlength=num_classes)[:num_classes]
    return counts


def class_weights(counts: np.ndarray, method: str = "sqrt", max_weight: float = 10.0) -> torch.Tensor | None:
    """Per-class loss weights from pixel counts (see the module docstring); None for "none"."""
    if method == "none":
        return None
    if method != "sqrt":
        raise ValueError(f"class weighting must be one of {CLASS_WEIGHTINGS}, got {method!r}")
    counts = np.asarray(counts, np.float64)
    present = counts > 0
    if not present.any():
        return None
    freq = counts / counts.sum()
    w = np.zeros_like(freq)
    w[present] = 1.0 / np.sqrt(freq[present])
    w[present] /= (w[present] * freq[present]).sum()
    w[present] = np.clip(w[present], 0.2, max_weight)
    return torch.tensor(w, dtype=torch.float32)


__all__ = ["CLASS_WEIGHTINGS", "class_weights", "label_histogram"]
