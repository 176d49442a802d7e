"""Poly learning-rate schedule with linear warm-up (the schedule SGNet's repo ships, §10)."""

from __future__ import annotations

import torch


def poly_warmup_factor(step: int, max_steps: int, warmup_steps: int = 0, power: float = 0.9,
                       min_factor: float = 0.0) -> float:
    """Multiplier of the base LR at `step` (0-based): linear ramp over `warmup_steps`, then
    (1 - progress)^power over the remaining steps, never below `min_factor`."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, max_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return max(min_factor, (1.0 - progress) ** power)


def poly_warmup_scheduler(optimizer: torch.optim.Optimizer, max_steps: int, warmup_steps: int = 0,
                          power: float = 0.9, min_factor: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR applying `poly_warmup_factor` to every param group (its state resumes with the optimizer)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: poly_warmup_factor(step, max_steps, warmup_steps, power, min_factor)
    )
