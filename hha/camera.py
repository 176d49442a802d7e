"""Camera constants and the one place intrinsics of any accepted form become a tensor.

Accepted forms (duck-typed so that `hha` imports nothing of the project):
- any object with `fx, fy, cx, cy` attributes (e.g. `sgnet.frames.Intrinsics`);
- a 4-sequence `(fx, fy, cx, cy)`;
- a sequence of such objects / 4-sequences, one per batch sample;
- a tensor or array of shape (4,) (one camera) or (N, 4) (one row per sample along the
  first depth dimension).

Pixel convention: intrinsics are **0-based** (librealsense / OpenCV: pixel (0, 0) is
centred at u = 0). The reference HHA code puts pixel centres at 1-based coordinates; the
`convention="one_based"` option of the functions reproduces that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

# NYU Depth v2 colour camera, in the reference HHA code's 1-based pixel convention
# (Depth2HHA-python `getCameraParam('color')`). In 0-based terms cx, cy are one less.
NYU_FX = 5.1885790117450188e02
NYU_FY = 5.1946961112127485e02
NYU_CX_ONE_BASED = 3.2558244941119034e02
NYU_CY_ONE_BASED = 2.5373616633400465e02
NYU_INTRINSICS = (NYU_FX, NYU_FY, NYU_CX_ONE_BASED - 1.0, NYU_CY_ONE_BASED - 1.0)
"""NYUv2 colour intrinsics (fx, fy, cx, cy) in the project's 0-based convention."""

# The official SGNet data loader (data/transform/rgbd_transform.py) rounds the focal
# lengths to three decimals and uses the image centre as principal point.
SGNET_FX = 518.857
SGNET_FY = 519.469

CONVENTIONS = ("zero_based", "one_based")


def pixel_offset(convention: str) -> float:
    """0.0 for 0-based pixel centres (u = col), 1.0 for the reference's 1-based ones (u = col + 1)."""
    if convention == "zero_based":
        return 0.0
    if convention == "one_based":
        return 1.0
    raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")


def _is_number_row(obj: Any) -> bool:
    return (
        isinstance(obj, Sequence)
        and not isinstance(obj, str)
        and len(obj) == 4
        and all(isinstance(v, int | float | np.floating | np.integer) for v in obj)
    )


def _row(obj: Any) -> list[float]:
    if all(hasattr(obj, k) for k in ("fx", "fy", "cx", "cy")):
        return [float(obj.fx), float(obj.fy), float(obj.cx), float(obj.cy)]
    if _is_number_row(obj):
        return [float(v) for v in obj]
    raise TypeError(
        "intrinsics must have fx, fy, cx, cy attributes, be a tuple (fx, fy, cx, cy), "
        f"a sequence of those, or a (4,) / (N, 4) tensor; got {type(obj).__name__}"
    )


def _check_size(obj: Any, depth: torch.Tensor) -> None:
    """Objects that carry width/height (sgnet.frames.Intrinsics) must describe depth's image size."""
    w, h = getattr(obj, "width", None), getattr(obj, "height", None)
    if isinstance(w, int) and isinstance(h, int) and (h, w) != tuple(depth.shape[-2:]):
        raise ValueError(
            f"intrinsics are for a {w}x{h} image but depth is {depth.shape[-1]}x{depth.shape[-2]}; "
            f"rescale them (e.g. Intrinsics.scaled) to the depth map's size"
        )


def intrinsics_tensor(intrinsics: Any, depth: torch.Tensor) -> torch.Tensor:
    """Return intrinsics as a float64 tensor of shape (4,) or (N, 4) on depth's device.

    (N, 4) means one camera per index of depth's first dimension, so N must equal
    depth.shape[0] and depth must have a batch dimension (ndim >= 3).
    """
    if isinstance(intrinsics, Sequence) and not isinstance(intrinsics, str):
        for obj in intrinsics:
            _check_size(obj, depth)
    else:
        _check_size(intrinsics, depth)
    # Built and checked on the CPU (no GPU synchronisation), then moved to depth's device.
    if isinstance(intrinsics, torch.Tensor | np.ndarray):
        t = torch.as_tensor(intrinsics).detach().to(device="cpu", dtype=torch.float64)
    elif (
        isinstance(intrinsics, Sequence)
        and not isinstance(intrinsics, str)
        and len(intrinsics) > 0
        and not _is_number_row(intrinsics)
        and not hasattr(intrinsics, "fx")
    ):
        t = torch.tensor([_row(o) for o in intrinsics], dtype=torch.float64)
    else:
        t = torch.tensor(_row(intrinsics), dtype=torch.float64)
    if t.ndim not in (1, 2) or t.shape[-1] != 4:
        raise ValueError(f"intrinsics tensor must have shape (4,) or (N, 4), got {tuple(t.shape)}")
    if t.ndim == 2 and (depth.ndim < 3 or t.shape[0] != depth.shape[0]):
        raise ValueError(
            f"per-sample intrinsics of shape {tuple(t.shape)} need a depth batch of {t.shape[0]} "
            f"along the first dimension, got depth of shape {tuple(depth.shape)}"
        )
    if not bool(torch.isfinite(t).all()):
        raise ValueError("intrinsics must be finite numbers")
    if bool((t[..., :2] <= 0).any()):
        raise ValueError("intrinsics focal lengths fx, fy must be positive")
    return t.to(depth.device)


def per_pixel_view(t: torch.Tensor, depth_ndim: int) -> tuple[torch.Tensor, ...]:
    """Split (4,) or (N, 4) intrinsics into fx, fy, cx, cy shaped to broadcast over (..., H, W)."""
    if t.ndim == 1:
        return tuple(t[i] for i in range(4))
    shape = (t.shape[0],) + (1,) * (depth_ndim - 1)
    return tuple(t[:, i].reshape(shape) for i in range(4))
