"""Depth -> HHA (horizontal disparity, height above the lowest point, angle with gravity).

Follows Gupta et al.'s HHA as implemented by Depth2HHA-python / the MATLAB original (spec
hha.md): geometry in centimetres, normals of 7x7 windows for the angle, normals of 21x21
windows for the gravity estimate, the floor at the minimum height (or 130 cm under the
camera when nothing is seen more than 90 cm below it), round-half-even quantisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hha.camera import intrinsics_tensor, pixel_offset
from hha.checks import as_depth_tensor, as_missing_mask, sanitize_depth
from hha.gravity import DEFAULT_SCHEDULE, estimate_gravity
from hha.normals import fit_normals

ANGLE_RADIUS = 3
"""7x7 windows: the normals compared with gravity in the angle channel."""
GRAVITY_RADIUS = 10
"""21x21 windows: the normals the gravity direction is estimated from."""
DEFAULT_GRAVITY_STRIDE = 2
"""Gravity from the 21x21 normals of every 2nd pixel in both directions: ~40 % faster, and
within 0.03 deg of the full estimate on the NYU reference frames (height within +-1 level)."""

_COS_TENTH_DEGREE = math.cos(math.radians(0.1))


@dataclass(frozen=True)
class HHAResult:
    """Everything `depth_to_hha_full` computed, for callers that want more than the image.

    hha: uint8 (..., 3, H, W), channels (disparity, height, angle).
    gravity: float64 (..., 3) unit "down" vector in the camera frame (x right, y down,
        z forward) that was used: estimated, or the one passed in.
    normals: float32 (..., 3, H, W) unit normals of the 7x7 fits, pointing away from the
        camera; NaN where the window held no valid pixel.
    floor_cm: float32 (...,) the floor used, in cm along "up" relative to the camera
        (negative: below it); the height channel is (height above the camera) - floor_cm.
    convention: "zero_based" or "one_based", the pixel-centre convention of the intrinsics.
    """

    hha: torch.Tensor
    gravity: torch.Tensor
    normals: torch.Tensor
    floor_cm: torch.Tensor
    convention: str


@dataclass(frozen=True)
class _Prepared:
    """Validated input flattened to a batch (B, H, W), depth in cm, per-sample intrinsics."""

    lead: torch.Size
    z_cm: torch.Tensor  # (B, H, W) float32, 0 = missing
    valid: torch.Tensor  # (B, H, W) bool: takes part in the normal fits
    inv_z: torch.Tensor  # (B, H, W) float32 1/z_cm where valid, else 0
    fx: torch.Tensor  # (B, 1, 1) float64, likewise fy, cx, cy
    fy: torch.Tensor
    cx: torch.Tensor
    cy: torch.Tensor
    offset: float

    def grid(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """u - cx (B, 1, W') and v - cy (B, H', 1) of every step-th pixel, float32."""
        h, w = self.z_cm.shape[-2:]
        dev = self.z_cm.device
        u = torch.arange(0, w, step, dtype=torch.float64, device=dev) + self.offset
        v = torch.arange(0, h, step, dtype=torch.float64, device=dev)[:, None] + self.offset
        return (u - self.cx).to(torch.float32), (v - self.cy).to(torch.float32)

    def normals(self, radius: int, step: int = 1) -> torch.Tensor:
        """Unit normals (B, 3, H', W') of (2*radius+1)^2 fits at every step-th pixel."""
        ucol, vrow = self.grid(step)
        f32 = torch.float32
        fx, fy = self.fx.to(f32), self.fy.to(f32)
        return fit_normals(self.valid, self.inv_z, self.z_cm > 0, fx, fy, ucol, vrow, radius, step)


def _prepare(depth: Any, intrinsics: Any, missing_mask: Any, convention: str) -> _Prepared:
    depth = as_depth_tensor(depth)
    offset = pixel_offset(convention)
    intr = intrinsics_tensor(intrinsics, depth)
    mask = as_missing_mask(missing_mask, depth)
    lead, (h, w) = depth.shape[:-2], depth.shape[-2:]
    z_cm = sanitize_depth(depth).to(torch.float32).reshape(-1, h, w) * 100.0
    bsz = z_cm.shape[0]
    # (N, 4): one camera per index of the first dimension, shared by the other dimensions
    cam = intr.expand(bsz, 4) if intr.ndim == 1 else intr.repeat_interleave(bsz // intr.shape[0], dim=0)
    fx, fy, cx, cy = (cam[:, i].reshape(bsz, 1, 1) for i in range(4))
    valid = z_cm > 0
    if mask is not None:
        valid = valid & ~mask.reshape(-1, h, w)
    inv_z = torch.where(valid, 1.0 / torch.where(valid, z_cm, 1.0), 0.0)
    return _Prepared(lead, z_cm, valid, inv_z, fx, fy, cx, cy, offset)


def _gravity_tensor(gravity: Any, lead: torch.Size, device: torch.device) -> torch.Tensor:
    """Validate a caller-given down vector: (3,) or (..., 3) matching depth's leading dims."""
    if isinstance(gravity, np.ndarray | Sequence):
        try:
            gravity = torch.as_tensor(np.asarray(gravity, dtype=np.float64))
        except (TypeError, ValueError):
            raise TypeError(f"gravity must be a 3-vector of numbers, got {gravity!r}") from None
    if not isinstance(gravity, torch.Tensor):
        raise TypeError(f"gravity must be a 3-vector (tensor, array or tuple), got {type(gravity).__name__}")
    g = gravity.detach().to(device="cpu", dtype=torch.float64)  # checked on the CPU, then moved
    if g.ndim == 0 or g.shape[-1] != 3:
        raise ValueError(f"gravity must have shape (3,) or (..., 3), got {tuple(g.shape)}")
    if g.numel() == 3:  # one vector for every frame, whatever its leading shape
        g = g.reshape(3)
    try:
        g = g.expand(*lead, 3)
    except RuntimeError:
        raise ValueError(
            f"gravity of shape {tuple(g.shape)} does not match the depth batch shape {tuple(lead)}"
        ) from None
    norm = torch.linalg.vector_norm(g, dim=-1, keepdim=True)
    if not bool(torch.isfinite(g).all()) or bool((norm == 0).any()):
        raise ValueError("gravity must be a finite, non-zero vector (camera frame, pointing down)")
    return (g / norm).reshape(-1, 3).to(device)


def surface_normals(
    depth: Any,
    intrinsics: Any,
    missing_mask: Any = None,
    *,
    radius: int = ANGLE_RADIUS,
    convention: str = "zero_based",
) -> torch.Tensor:
    """Unit normals float32 (..., 3, H, W) of (2*radius+1)^2 plane fits, NaN where none.

    Camera frame (x right, y down, z forward), pointing away from the camera (a floor
    below the camera has n ~ +y). Arguments as `depth_to_hha_full`.
    """
    if not isinstance(radius, int) or radius < 1:
        raise ValueError(f"radius must be an integer >= 1, got {radius!r}")
    prep = _prepare(depth, intrinsics, missing_mask, convention)
    h, w = prep.z_cm.shape[-2:]
    return prep.normals(radius).reshape(*prep.lead, 3, h, w)


def depth_to_hha_full(
    depth: Any,
    intrinsics: Any,
    missing_mask: Any = None,
    gravity: Any = None,
    *,
    convention: str = "zero_based",
    gravity_stride: int = DEFAULT_GRAVITY_STRIDE,
) -> HHAResult:
    """HHA of depth maps in metres (..., H, W), with the gravity and normals behind it.

    intrinsics: object with fx, fy, cx, cy | (fx, fy, cx, cy) | (4,) or (N, 4) tensor | a
        list of N cameras (one per index of depth's first dimension).
    missing_mask: optional bool (..., H, W), True where the *raw* sensor had no data while
        `depth` is hole-filled; it only excludes those pixels from the normal fits (pixels
        where depth == 0 are always excluded). Disparity and height always come from depth.
    gravity: optional known down vector (3,) or (..., 3) in the camera frame (e.g. from an
        IMU); the estimate (and its 21x21 normals) is skipped.
    convention: pixel centres of `intrinsics`: "zero_based" (librealsense/OpenCV) or
        "one_based" (the reference MATLAB/Python code).
    gravity_stride: estimate gravity from every n-th 21x21 normal in both directions.
        For conformance with the reference use convention="one_based", gravity_stride=1.

    NaN, inf and negative depths count as missing (0). All-zero depth gives a defined
    image: disparity 255, height 130 (the assumed camera height), angle 218 ("no normal").
    """
    if not isinstance(gravity_stride, int) or gravity_stride < 1:
        raise ValueError(f"gravity_stride must be an integer >= 1, got {gravity_stride!r}")
    prep = _prepare(depth, intrinsics, missing_mask, convention)
    lead, z_cm = prep.lead, prep.z_cm
    bsz, h, w = z_cm.shape
    dev = z_cm.device

    if gravity is None:
        down = estimate_gravity(prep.normals(GRAVITY_RADIUS, gravity_stride), DEFAULT_SCHEDULE)
    else:
        down = _gravity_tensor(gravity, lead, dev)
    normals = prep.normals(ANGLE_RADIUS)
    down32 = down.to(torch.float32)

    # height: -(y . P) in cm, up positive, with P = z * (kx, ky, 1); the reference skips
    # the rotation (uses y = (0, 1, 0)) when gravity is within 0.1 deg of the camera's down
    ucol, vrow = prep.grid(1)
    e_y = torch.tensor([0.0, 1.0, 0.0], device=dev)
    ax = torch.where((down[:, 1] >= _COS_TENTH_DEGREE)[:, None], e_y, down32)[:, :, None, None]
    kx = ucol / prep.fx.to(torch.float32)  # (B, 1, W)
    ky = vrow / prep.fy.to(torch.float32)  # (B, H, 1)
    height = -z_cm * (ax[:, 0] * kx + ax[:, 1] * ky + ax[:, 2])
    floor = height.amin(dim=(-2, -1))  # includes missing pixels (h = 0): never decides
    floor = torch.where(floor > -90.0, torch.full_like(floor, -130.0), floor)
    height = height - floor.reshape(bsz, 1, 1)

    g = down32[:, :, None, None]
    cos_a = torch.addcmul(torch.addcmul(normals[:, 0] * g[:, 0], normals[:, 1], g[:, 1]), normals[:, 2], g[:, 2])
    angle = torch.rad2deg_(torch.acos_(cos_a.clamp_(-1.0, 1.0))).nan_to_num_(nan=180.0)  # no normal -> 180

    # stack (disparity, height, angle + 38), round half to even, clip at 255
    hha_img = torch.empty(bsz, 3, h, w, dtype=torch.uint8, device=dev)
    hha_img[:, 0] = torch.reciprocal_(z_cm.clamp(min=100.0)).mul_(31000.0).round_().clamp_(max=255.0)
    hha_img[:, 1] = height.round_().clamp_(max=255.0)
    hha_img[:, 2] = angle.add_(38.0).round_().clamp_(max=255.0)

    return HHAResult(
        hha=hha_img.reshape(*lead, 3, h, w),
        gravity=down.reshape(*lead, 3),
        normals=normals.reshape(*lead, 3, h, w),
        floor_cm=floor.reshape(lead),
        convention=convention,
    )


def depth_to_hha(
    depth: Any,
    intrinsics: Any,
    missing_mask: Any = None,
    gravity: Any = None,
    *,
    convention: str = "zero_based",
    gravity_stride: int = DEFAULT_GRAVITY_STRIDE,
) -> torch.Tensor:
    """HHA image uint8 (..., 3, H, W), channels (disparity, height, angle), on depth's device.

    See `depth_to_hha_full` for the arguments; this returns only its `.hha`.
    """
    return depth_to_hha_full(
        depth, intrinsics, missing_mask, gravity, convention=convention, gravity_stride=gravity_stride
    ).hha
