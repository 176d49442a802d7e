"""The official SGNet input pipeline as batched torch ops (spec §4, Trap 7/8).

Colour: RGB uint8 -> float, minus the Caffe means (R 122.675, G 116.669, B 104.008), channel
order reversed to BGR, 0..255 range kept (no /255, no std). Spatial input S: xyz in metres
from depth, either with the frame's own intrinsics ("frame", the default; 0-based pixel
centres) or exactly as the official NYU loader computes it ("nyu"). Only z (channel 2)
reaches the released networks, so both modes give the same predictions for them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

import hha

MEAN_RGB = (122.675, 116.669, 104.008)
MEAN_BGR = (104.008, 116.669, 122.675)
XYZ_MODES = ("frame", "nyu")


def normalize_color(color: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) RGB uint8/float -> (N, 3, H, W) float32 BGR minus the means."""
    if color.ndim != 4 or color.shape[-1] != 3:
        raise ValueError(f"color must be (N, H, W, 3) RGB, got shape {tuple(color.shape)}")
    x = color.permute(0, 3, 1, 2).to(torch.float32)
    mean = torch.tensor(MEAN_RGB, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    return (x - mean).flip(1)


def denormalize_color(image: torch.Tensor) -> torch.Tensor:
    """Inverse of `normalize_color`: (N, 3, H, W) BGR-mean -> (N, H, W, 3) RGB float 0..255."""
    mean = torch.tensor(MEAN_BGR, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    return (image + mean).flip(1).permute(0, 2, 3, 1)


def spatial_input(depth: torch.Tensor, depth_scale: float, intrinsics: Any, mode: str = "frame") -> torch.Tensor:
    """Raw depth (N, H, W) (device units) -> S = xyz (N, 3, H, W) float32 metres.

    mode "frame": pinhole back-projection with `intrinsics` (one camera or one per sample).
    mode "nyu": the official loader's constants (1-based grid, image-centre principal point,
    fx 518.857 / fy 519.469); `intrinsics` is ignored. Zero depth stays zero in both.
    """
    if mode == "frame":
        depth_m = depth.to(torch.float32) * float(depth_scale)
        return hha.depth_to_xyz(depth_m, intrinsics)
    if mode == "nyu":
        return hha.nyu_official_xyz(depth.to(torch.float32), units_per_metre=1.0 / float(depth_scale))
    raise ValueError(f"xyz_mode must be one of {XYZ_MODES}, got {mode!r}")


def fit_size(height: int, width: int, box: tuple[int, int]) -> tuple[int, int]:
    """The largest (h, w) with the frame's aspect ratio inside box (H, W); never upscales."""
    scale = min(box[0] / height, box[1] / width, 1.0)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_image(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear, pixel-centre aligned (matches `Intrinsics.scaled`); no-op at the same size."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def resize_depth(depth: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, H, W) depth -> size with nearest-exact sampling, so holes (0) never blend into valid depth."""
    if tuple(depth.shape[-2:]) == tuple(size):
        return depth
    return F.interpolate(depth[:, None].to(torch.float32), size=size, mode="nearest-exact")[:, 0]


def zoom(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The official multi-scale resize (scipy zoom order 1 ~ bilinear, align_corners=True), spec §5."""
    if tuple(t.shape[-2:]) == tuple(size):
        return t
    return F.interpolate(t, size=size, mode="bilinear", align_corners=True)


def upsample_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Model output -> full size, bilinear with align_corners=True as the official tester does."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=True)
