"""Gravity ("down") direction from surface normals: the reference's getYDir, batched.

Starting from the camera's down (0, 1, 0), each update picks the direction most parallel
to floor/ceiling-like normals and most perpendicular to wall-like ones: the eigenvector
with the smallest eigenvalue of  sum_walls n n^T - sum_floors n n^T.  Two stages, 45 deg
then 15 deg, 5 updates each (spec hha.md §5). The loop runs on the tensor's device: no
per-pixel Python, one small batched eigh per update.
"""

from __future__ import annotations

import math

import torch

DEFAULT_SCHEDULE: tuple[tuple[float, int], ...] = ((45.0, 5), (15.0, 5))
"""(threshold in degrees, number of updates) stages of the reference."""

_SYM = [0, 3, 4, 3, 1, 5, 4, 5, 2]  # [xx, yy, zz, xy, xz, yz] -> row-major symmetric 3x3


def estimate_gravity(
    normals: torch.Tensor,
    schedule: tuple[tuple[float, int], ...] = DEFAULT_SCHEDULE,
) -> torch.Tensor:
    """Estimate gravity (unit, camera frame, pointing down) from normals (..., 3, H, W).

    NaN normals are ignored. Returns (..., 3) float64 on the normals' device. A frame with
    no valid normal (or a degenerate update) keeps the previous estimate, so the fallback
    is (0, 1, 0).
    """
    if not isinstance(normals, torch.Tensor) or normals.ndim < 3 or normals.shape[-3] != 3:
        shape = tuple(normals.shape) if isinstance(normals, torch.Tensor) else type(normals).__name__
        raise ValueError(f"normals must be a tensor of shape (..., 3, H, W), got {shape}")
    lead = normals.shape[:-3]
    n = normals.reshape(-1, 3, normals.shape[-2] * normals.shape[-1]).to(torch.float32)
    valid = torch.isfinite(n).all(dim=1, keepdim=True)  # (B, 1, N)
    n = torch.where(valid, n, 0.0)  # an invalid normal adds a zero outer product: ignored
    x, y_, z = n.to(torch.float64).unbind(1)
    terms = torch.stack((x * x, y_ * y_, z * z, x * y_, x * z, y_ * z), dim=-1)  # (B, N, 6)
    has_any = valid.flatten(1).any(dim=1, keepdim=True)  # (B, 1)
    y = torch.zeros(n.shape[0], 3, dtype=torch.float64, device=n.device)
    y[:, 1] = 1.0
    for deg, steps in schedule:
        cos_t, sin_t = math.cos(math.radians(deg)), math.sin(math.radians(deg))
        for _ in range(steps):
            # |y . n| elementwise, not as a matmul: no TF32 on GPUs whatever the global setting
            s = (n * y.to(torch.float32).unsqueeze(-1)).sum(dim=1, keepdim=True).abs()  # (B, 1, N)
            weight = (s < sin_t).to(torch.float64) - (s > cos_t).to(torch.float64)  # wall +1, floor -1
            a = torch.bmm(weight, terms)[:, 0, _SYM].reshape(-1, 3, 3)  # sum_walls n n^T - sum_floors n n^T
            y_new = torch.linalg.eigh(a).eigenvectors[..., 0]  # eigenvalues ascend: the smallest
            d = (y * y_new).sum(dim=-1, keepdim=True)
            ok = has_any & (d != 0) & torch.isfinite(y_new).all(dim=-1, keepdim=True)
            y = torch.where(ok, y_new * torch.sign(d), y)
    return y.reshape(*lead, 3)
