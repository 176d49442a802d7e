"""Segmentation metrics exactly as the official `IOUMetric` (spec §6).

One confusion matrix `hist[gt, pred]` is accumulated over all labelled pixels of the whole
dataset; the scores come from it at the end (not averaged per image). Classes whose IoU is
undefined (never in the ground truth nor predicted) are NaN and skipped by the means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

IGNORE_INDEX = 255


def _as_tensor(a) -> torch.Tensor:
    """Arrays from frames are read-only; torch warns about sharing those, so copy them."""
    if isinstance(a, np.ndarray) and not a.flags.writeable:
        a = a.copy()
    return torch.as_tensor(a)


def confusion_matrix(gt, pred, num_classes: int) -> torch.Tensor:
    """(C, C) int64 counts of (gt, pred) over pixels with 0 <= gt < C (255 and others ignored).

    gt, pred: integer arrays/tensors of the same shape; pred must be in 0..C-1 wherever gt is.
    Works on any device (returns a tensor on gt's device).
    """
    gt_t = _as_tensor(gt).reshape(-1).to(torch.int64)
    pred_t = _as_tensor(pred).reshape(-1).to(device=gt_t.device, dtype=torch.int64)
    if gt_t.shape != pred_t.shape:
        raise ValueError(f"gt and pred must have the same number of pixels, got {gt_t.numel()} and {pred_t.numel()}")
    keep = (gt_t >= 0) & (gt_t < num_classes)
    g, p = gt_t[keep], pred_t[keep]
    if p.numel() and (int(p.min()) < 0 or int(p.max()) >= num_classes):
        raise ValueError(f"predictions must be class ids 0..{num_classes - 1} on labelled pixels")
    return torch.bincount(g * num_classes + p, minlength=num_classes * num_classes).view(num_classes, num_classes)


@dataclass(frozen=True)
class SegMetrics:
    """Scores of one confusion matrix. Per-class arrays hold NaN where undefined."""

    pixel_acc: float
    mean_class_acc: float
    miou: float
    fwiou: float
    iou: np.ndarray  # (C,)
    class_acc: np.ndarray  # (C,)
    pixels: int

    @property
    def miou_gt(self) -> float:
        """mIoU over the classes with ground-truth pixels only: a class that is merely predicted
        (a false positive on a set that lacks it) does not count as a 0."""
        return _nanmean(self.iou[~np.isnan(self.class_acc)])

    @property
    def gt_classes(self) -> int:
        return int((~np.isnan(self.class_acc)).sum())

    def as_dict(self, class_names: tuple[str, ...] | None = None) -> dict:
        names = class_names or tuple(str(i) for i in range(len(self.iou)))

        def _num(v: float) -> float | None:
            return None if np.isnan(v) else float(v)

        return {
            "miou": _num(self.miou),
            "miou_gt_classes": _num(self.miou_gt),
            "gt_classes": self.gt_classes,
            "pixel_acc": _num(self.pixel_acc),
            "mean_class_acc": _num(self.mean_class_acc),
            "fwiou": _num(self.fwiou),
            "pixels": self.pixels,
            "per_class": [
                {"id": i, "name": names[i], "iou": _num(self.iou[i]), "acc": _num(self.class_acc[i])}
                for i in range(len(self.iou))
            ],
        }


def _nanmean(a: np.ndarray) -> float:
    a = a[~np.isnan(a)]
    return float(a.mean()) if a.size else float("nan")


def scores(hist) -> SegMetrics:
    """pixel acc = trace/total; class acc = nanmean(diag/row); IoU = diag/(row+col-diag);
    mIoU = nanmean(IoU); fwIoU = sum over classes with gt pixels of (row/total) * IoU."""
    h = torch.as_tensor(hist).detach().cpu().numpy().astype(np.float64)
    if h.ndim != 2 or h.shape[0] != h.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {h.shape}")
    total = h.sum()
    diag = np.diag(h)
    rows, cols = h.sum(1), h.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pixel_acc = diag.sum() / total if total else float("nan")
        class_acc = diag / rows
        iou = diag / (rows + cols - diag)
        freq = rows / total if total else np.zeros_like(rows)
    present = freq > 0
    fwiou = float((freq[present] * iou[present]).sum()) if total else float("nan")
    return SegMetrics(float(pixel_acc), _nanmean(class_acc), _nanmean(iou), fwiou, iou, class_acc, int(total))
