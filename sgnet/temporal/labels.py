"""Labels and confidence from carried class probabilities, made as a keyframe's are.

A `Segmenter` upsamples the model-size output bilinearly (align_corners=True) and takes the argmax
(at the frame's size, or at the model's input size then scaled up by nearest when its
`label_resolution` is "input"); its confidence is the winning probability at the model's size,
upsampled the same way. A propagated frame goes through exactly these steps from its
probabilities, so the two kinds of frames differ only in where the probabilities came from.
Pixels the propagation could not carry have all probabilities 0: they become 255 (no prediction)
with confidence 0 when the upsampled probability mass there is below one half.

Most of the upsample is not needed either: inside a cell between four model-grid pixels that
share their winning class, every interpolated pixel has that class too (a convex combination of
vectors that all rank it first ranks it first), and a cell whose four corners all lack half the
mass is all "no prediction". Only the pixels of the other cells (class and hole boundaries,
about a sixth of a frame) are interpolated, at exactly the positions the upsample samples
(`grid_sample`, align_corners=True); the labels equal a full upsample's up to float rounding at
exact ties (2 pixels in 1.5 million on random maps, none on the network's output), for about a
third of its time.

Only the classes that can win are looked at: a labelled pixel has mass >= 1/2, so its winning
probability is at least 1/(2C); a class whose probability stays below that everywhere on the
model grid stays below it after bilinear interpolation (a convex combination) and can never be
the argmax or the confidence. Dropping such classes (typically a third of NYUv2-40 on a frame)
gives the same labels and confidence for less work.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sgnet.frames import NO_PREDICTION
from sgnet.preprocess import upsample_logits


def labels_from_probabilities(probs: torch.Tensor, frame_hw: tuple[int, int], label_hw: tuple[int, int],
                              ids: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(1, C, h, w) probabilities -> uint8 (H, W) labels and float32 (H, W) confidence.

    label_hw: where the argmax is taken (the frame's size, or the model's input size when the
    segmenter's `label_resolution` is "input"; labels are then scaled up by nearest);
    ids: when given, `probs` holds only these classes (already the contenders), in this order.

    >>> p = torch.zeros(1, 2, 2, 2); p[0, 1] = 1.0; p[0, :, 0, 0] = 0.0
    >>> lab, conf = labels_from_probabilities(p, (3, 3), (3, 3)); lab.tolist()
    [[255, 1, 1], [1, 1, 1], [1, 1, 1]]
    """
    with torch.inference_mode():
        probs = probs.float()
        mass = probs.sum(dim=1, keepdim=True)
        if ids is None:
            ids = contenders(probs)
            probs = probs[:, ids]
        labels = _cell_labels(probs, mass, label_hw, ids)[None]
        if tuple(label_hw) != tuple(frame_hw):
            labels = F.interpolate(labels[:, None].float(), size=frame_hw, mode="nearest-exact")[:, 0].to(torch.uint8)
        conf = upsample_logits(probs.amax(dim=1, keepdim=True), frame_hw)[:, 0].clamp_(0.0, 1.0)
        conf.masked_fill_(labels == NO_PREDICTION, 0.0)
        return labels[0].cpu().numpy(), conf[0].cpu().numpy().astype(np.float32, copy=False)


def _cell_labels(probs: torch.Tensor, mass: torch.Tensor, size: tuple[int, int], ids: torch.Tensor) -> torch.Tensor:
    """(1, C, h, w) probabilities of the classes `ids`, (1, 1, h, w) mass -> (H, W) uint8 class ids:
    the argmax of the bilinear (align_corners=True) upsample, NO_PREDICTION where the upsampled
    mass is below 1/2 (module docstring). Class ids are looked up on the model grid and on the
    boundary pixels only, so the full-size map is gathered once, in bytes."""
    _, c, h, w = probs.shape
    height, width = size
    no = torch.tensor([NO_PREDICTION], device=ids.device, dtype=ids.dtype)
    lut = torch.cat([ids, no]).to(torch.uint8)  # index c = no prediction
    # argmax over the last, contiguous axis: reducing over a strided first axis is several times slower on a CPU
    a = torch.where(mass[0, 0] < 0.5, c, probs[0].permute(1, 2, 0).contiguous().argmax(dim=-1))
    if min(h, w, height, width) < 2:
        return F.interpolate(lut[a][None, None].float(), size=size, mode="nearest")[0, 0].to(torch.uint8)
    dev = probs.device
    cy = (torch.arange(height, device=dev, dtype=torch.float32) * ((h - 1) / (height - 1))).long().clamp_(0, h - 2)
    cx = (torch.arange(width, device=dev, dtype=torch.float32) * ((w - 1) / (width - 1))).long().clamp_(0, w - 2)
    corner = a[:-1, :-1]
    mixed = (corner != a[1:, :-1]) | (corner != a[:-1, 1:]) | (corner != a[1:, 1:])
    rows, cols = cy[:, None], cx[None, :]
    labels = lut[corner][rows, cols]
    py, px = mixed[rows, cols].nonzero(as_tuple=True)
    if py.numel():
        grid = torch.stack([px.float() * (2.0 / (width - 1)) - 1.0, py.float() * (2.0 / (height - 1)) - 1.0], -1)
        v = F.grid_sample(torch.cat([probs, mass], dim=1), grid[None, None], mode="bilinear",
                          align_corners=True)[0, :, 0]  # (C + 1, n): the upsample's values at those pixels
        # max over the first axis, not argmax: torch vectorises max's reduction along the contiguous
        # pixels (0.3 ms for 26 classes x 12 k pixels; argmax 1.2 ms, transposing first 0.6 ms)
        labels[py, px] = lut[torch.where(v[c] < 0.5, c, v[:c].max(dim=0).indices)]
    return labels


def contenders(probs: torch.Tensor) -> torch.Tensor:
    """Ids of the classes (dim 1 of (1, C, h, w)) that can win a labelled pixel (module docstring)."""
    peak = probs.amax(dim=(0, 2, 3))
    ids = torch.nonzero(peak >= 0.5 / probs.shape[1]).flatten()
    return ids if ids.numel() else torch.arange(probs.shape[1], device=probs.device)
