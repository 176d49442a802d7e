"""Input validation shared by the public functions: one clear error, early.

Bad *values* are not errors: NaN, +-inf and negative depths mean "no measurement" and
become 0 (the missing marker), so a bad frame is handled, never fatal. Bad *types* and
*shapes* are caller mistakes and raise TypeError / ValueError naming the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def as_depth_tensor(depth: Any, name: str = "depth") -> torch.Tensor:
    """Validate a depth map in metres (..., H, W) and return it as a floating tensor.

    NumPy arrays are accepted and converted (the result is then a CPU tensor).
    """
    if isinstance(depth, np.ndarray):
        depth = torch.from_numpy(np.ascontiguousarray(depth))
    if not isinstance(depth, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (or numpy array) of metres, got {type(depth).__name__}")
    if not depth.is_floating_point():
        raise TypeError(
            f"{name} must be floating-point metres, got dtype {depth.dtype}; convert raw sensor units "
            f"with e.g. depth.float() * depth_scale (0.001 for millimetres)"
        )
    if depth.ndim < 2:
        raise ValueError(f"{name} must have shape (..., H, W), got {tuple(depth.shape)}")
    if depth.shape[-1] < 1 or depth.shape[-2] < 1:
        raise ValueError(f"{name} must not be empty, got shape {tuple(depth.shape)}")
    return depth


def sanitize_depth(depth: torch.Tensor) -> torch.Tensor:
    """Map NaN, +-inf and negative depths to 0 (missing), as a new tensor.

    Unconditional on purpose: testing first whether anything is bad would make a GPU wait.
    """
    return torch.where(torch.isfinite(depth) & (depth > 0), depth, 0.0)


def as_missing_mask(mask: Any, depth: torch.Tensor) -> torch.Tensor | None:
    """Validate an optional missing mask (True = no raw measurement) against depth's shape."""
    if mask is None:
        return None
    if isinstance(mask, np.ndarray):
        mask = torch.from_numpy(np.ascontiguousarray(mask))
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"missing_mask must be a bool tensor (or numpy array), got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"missing_mask must be boolean (True = missing), got dtype {mask.dtype}; use raw_depth == 0")
    try:
        fits = torch.broadcast_shapes(mask.shape, depth.shape) == depth.shape
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(
            f"missing_mask of shape {tuple(mask.shape)} does not match depth of shape {tuple(depth.shape)}"
        )
    return mask.to(depth.device).expand(depth.shape)
