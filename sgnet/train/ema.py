"""An exponential moving average of the weights, kept beside the trained model.

Averaging the weights of the last few thousand SGD steps lands nearer the middle of the
minimum the noisy steps circle around, which scores like a small ensemble at the cost of one
model. BatchNorm statistics are averaged with the weights (`use_buffers`), so the averaged
model is usable as is, with no extra pass to re-estimate them. Built on torch's own
`AveragedModel` and its EMA update.
"""

from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def make_ema(model: nn.Module, decay: float) -> AveragedModel | None:
    """The EMA of `model` (a copy, updated by `ema.update_parameters(model)` after each step);
    None when `decay` is 0 (off). decay 0.9998 averages over about the last 5000 steps; torch
    refuses a decay outside [0, 1] with a ValueError."""
    if decay == 0.0:
        return None
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    ema.update_parameters(model)  # the first update copies: the average starts at the initial weights
    return ema


__all__ = ["make_ema"]
