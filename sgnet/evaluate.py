"""Dataset evaluation as the official tester does it (spec §5, §6).

Per image: colour and xyz preprocessed at full size; for each scale both are resized
(bilinear, align_corners=True) to round(H*s) x round(W*s), the model's main logits are
upsampled (bilinear, align_corners=True) to the label size, optionally averaged with the
horizontally mirrored pass (0.5 each), summed over scales and divided by their number;
argmax gives the prediction. One confusion matrix over the whole dataset gives the scores.

`EvalOptions.input_box` scores a model as `sgnet-live` runs it instead: the scales then multiply
the size the app would run the model at (its default input size fitted to the frame, e.g. a
640x480 Kinect frame through `sgnet_lite` at 320x240), and the logits are still upsampled to the
label's size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from assets.classes import ClassSet
from sgnet.classes import merge_probabilities
from sgnet.data.nyudv2 import RGBDSample, SegDataset
from sgnet.depth_holes import fill_holes
from sgnet.errors import SGNetUserError
from sgnet.forward import autocast_context, main_output
from sgnet.metrics import SegMetrics, confusion_matrix, scores
from sgnet.preprocess import fit_size, normalize_color, spatial_input, upsample_logits, zoom

OFFICIAL_SCALES = (0.8, 1.0, 2.0)


@dataclass(frozen=True)
class EvalOptions:
    scales: tuple[float, ...] = (1.0,)
    flip: bool = False
    xyz_mode: str = "frame"
    device: str = "cpu"
    precision: str = "fp32"  # fp32 | fp16 | bf16 (autocast)
    input_box: tuple[int, int] | None = None  # None: scales x the frame's size; (H, W): x the app's model size
    fill_holes: bool = False  # in-paint the depth's holes first (sgnet.depth_holes), as Segmenter(fill_holes=True)


@dataclass
class EvalResult:
    metrics: SegMetrics
    hist: np.ndarray
    images: int


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    image: torch.Tensor,
    xyz: torch.Tensor,
    scales: Sequence[float] = (1.0,),
    flip: bool = False,
    precision: str = "fp32",
    base: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Averaged full-size logits (N, C, H, W) float32 for preprocessed image/xyz (N, 3, H, W).
    base: the (H, W) a scale of 1 means (default: the image's own)."""
    h, w = image.shape[-2:]
    bh, bw = base or (h, w)
    total = None
    for s in scales:
        size = (int(round(bh * s)), int(round(bw * s)))
        im, sp = zoom(image, size), zoom(xyz, size)
        with autocast_context(image.device, precision):
            logits = upsample_logits(main_output(model(im, sp)).float(), (h, w))
            if flip:
                mirrored = main_output(model(im.flip(-1), sp.flip(-1))).float()
                logits = 0.5 * logits + 0.5 * upsample_logits(mirrored, (h, w)).flip(-1)
        total = logits if total is None else total + logits
    assert total is not None
    return total / len(scales)


def prepare_sample(
    sample: RGBDSample, device: torch.device, xyz_mode: str, fill: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """A dataset sample -> (image, xyz), each (1, 3, H, W) on `device`, as the official loader;
    `fill` in-paints the depth's holes first."""
    f = sample.frame
    color = torch.from_numpy(np.array(f.color))[None].to(device)
    depth = torch.from_numpy((fill_holes(f.depth) if fill else f.depth).astype(np.int32))[None].to(device)
    return normalize_color(color), spatial_input(depth, f.depth_scale, f.intrinsics, xyz_mode).to(torch.float32)


def evaluate(
    model: nn.Module,
    dataset: SegDataset,
    options: EvalOptions = EvalOptions(),
    num_classes: int = 40,
    on_prediction: Callable[[int, RGBDSample, np.ndarray], None] | None = None,
    merge: torch.Tensor | None = None,
) -> EvalResult:
    """Run `model` over `dataset`; `on_prediction(i, sample, pred uint8)` is called per image
    (progress bars, saving PNGs). `merge` (C_model, num_classes), from `sgnet.classes.merge_matrix`,
    scores the model in another class set: its averaged class probabilities are summed into it."""
    device = torch.device(options.device)
    model.eval()
    hist = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
    for i in range(len(dataset)):
        sample = dataset[i]
        image, xyz = prepare_sample(sample, device, options.xyz_mode, options.fill_holes)
        base = fit_size(*image.shape[-2:], options.input_box) if options.input_box else None
        logits = predict_logits(model, image, xyz, options.scales, options.flip, options.precision, base)
        expected = num_classes if merge is None else merge.shape[0]
        if logits.shape[1] != expected:
            raise SGNetUserError(
                f"the model predicts {logits.shape[1]} classes but the evaluation expects {expected} "
                "(set the number of classes to match the model)"
            )
        if merge is not None:
            logits = merge_probabilities(logits, merge)
        pred = logits[0].argmax(0)
        label = torch.from_numpy(sample.label).to(device)
        hist += confusion_matrix(label, pred, num_classes)
        if on_prediction is not None:
            on_prediction(i, sample, pred.to(torch.uint8).cpu().numpy())
    h = hist.cpu().numpy()
    return EvalResult(scores(h), h, len(dataset))


def save_prediction_png(path: Path, pred: np.ndarray, classes: ClassSet) -> None:
    """Write a prediction as an RGB PNG in the colours of the class set its ids belong to (no
    default: ids of a 13-class model drawn in NYUv2-40 colours would look plausible and be wrong)."""
    import cv2

    rgb = classes.colorize(pred)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1])):
        raise OSError(f"could not write {path}")
