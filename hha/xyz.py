"""Depth -> camera-frame point cloud (x right, y down, z forward), batched torch ops.

Two variants:
- `depth_to_xyz`: the pinhole model with the frame's own intrinsics (what a RealSense
  pipeline should use), 0-based pixel centres by default.
- `nyu_official_xyz`: bit-for-bit the official SGNet loader (1-based grid, principal
  point at the image centre, focal lengths rounded to 518.857 / 519.469, raw mm / 1000),
  for evaluating the released checkpoints exactly as they were evaluated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hha.camera import SGNET_FX, SGNET_FY, intrinsics_tensor, per_pixel_view, pixel_offset
from hha.checks import as_depth_tensor, sanitize_depth


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def ray_factors(
    intr: torch.Tensor, height: int, width: int, depth_ndim: int, offset: float, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """(u - cx) / fx along width and (v - cy) / fy along height, computed in float64 then cast.

    Shapes broadcast against (..., H, W): kx is (..., 1, W), ky is (..., H, 1).
    """
    fx, fy, cx, cy = per_pixel_view(intr, depth_ndim)
    dev = intr.device
    u = torch.arange(width, dtype=torch.float64, device=dev) + offset
    v = torch.arange(height, dtype=torch.float64, device=dev) + offset
    if intr.ndim == 2:  # per-sample: fx etc. are (N, 1, ..., 1) and broadcast to (N, 1, ..., W)
        kx = (u - cx) / fx
        ky = (v[:, None] - cy) / fy
    else:
        kx = ((u - cx) / fx)[None, :]
        ky = ((v - cy) / fy)[:, None]
    return kx.to(dtype), ky.to(dtype)


def depth_to_xyz(depth: Any, intrinsics: Any, *, convention: str = "zero_based") -> torch.Tensor:
    """Back-project depth (metres, (..., H, W)) to xyz (..., 3, H, W) in metres.

    x = (u - cx) * z / fx, y = (v - cy) * z / fy, z = depth, with u = col (+1 for
    convention="one_based"). Missing depth (0, and NaN/inf/negative, which are treated as
    0) gives xyz = (0, 0, 0). Output has the input's device and dtype.

    intrinsics: object with fx, fy, cx, cy | (fx, fy, cx, cy) | (4,) tensor | (N, 4) tensor
    or a list of N cameras, one per sample along depth's first dimension.
    """
    depth = as_depth_tensor(depth)
    offset = pixel_offset(convention)
    intr = intrinsics_tensor(intrinsics, depth)
    out_dtype = depth.dtype
    z = sanitize_depth(depth).to(_compute_dtype(depth.dtype))
    h, w = z.shape[-2:]
    kx, ky = ray_factors(intr, h, w, z.ndim, offset, z.dtype)
    xyz = torch.stack((z * kx, z * ky, z), dim=-3)
    return xyz.to(out_dtype)


def nyu_official_xyz(
    depth_raw: Any,
    *,
    fx: float = SGNET_FX,
    fy: float = SGNET_FY,
    scale: float = 1.0,
    units_per_metre: float = 1000.0,
) -> torch.Tensor:
    """The official SGNet depth -> xyz transform (data/transform/rgbd_transform.py), exactly.

    depth_raw: (..., H, W) raw stored units (NYUv2 PNGs: millimetres), integer or float.
    Grid u = col + 1, v = row + 1; principal point (W/2, H/2); X = (u - W/2) * D / fx,
    Y = (v - H/2) * D / fy, Z = D, all divided by `units_per_metre`. `scale` multiplies
    fx and fy (the training-time random scale). Arithmetic in float64 like the numpy
    original, then cast: float32 output for integer input, otherwise the input dtype.
    NaN/inf/negative raw values are treated as 0 (the original would propagate them).
    """
    if isinstance(depth_raw, torch.Tensor) and not depth_raw.is_floating_point():
        if depth_raw.dtype == torch.bool or depth_raw.is_complex():
            raise TypeError(f"depth_raw must be integer or float raw units, got dtype {depth_raw.dtype}")
        depth_raw = depth_raw.to(torch.float32)  # PIL -> np.float32 in the original
    elif isinstance(depth_raw, np.ndarray) and depth_raw.dtype.kind in "iu":
        depth_raw = depth_raw.astype(np.float32)
    depth = as_depth_tensor(depth_raw, "depth_raw")
    if not (fx > 0 and fy > 0 and scale > 0 and units_per_metre > 0):
        raise ValueError(
            f"fx, fy, scale and units_per_metre must be positive, got {fx}, {fy}, {scale}, {units_per_metre}"
        )
    out_dtype = depth.dtype if depth.dtype != torch.float16 and depth.dtype != torch.bfloat16 else torch.float32
    d = sanitize_depth(depth).to(torch.float64)
    h, w = d.shape[-2:]
    dev = d.device
    u = torch.arange(1, w + 1, dtype=torch.float64, device=dev) - w / 2.0
    v = (torch.arange(1, h + 1, dtype=torch.float64, device=dev) - h / 2.0)[:, None]
    x = (u * d) / (fx * scale) / units_per_metre
    y = (v * d) / (fy * scale) / units_per_metre
    z = d / units_per_metre
    return torch.stack((x, y, z), dim=-3).to(out_dtype)
