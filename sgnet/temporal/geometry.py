"""Where a pixel of this frame was in the keyframe: pure array functions (no state).

Two grids appear: the *model grid* (h x w, the network's output size, whose pixel j sits at frame
x = j * (W - 1) / (w - 1), the align_corners=True convention of `sgnet.preprocess.upsample_logits`)
and the *flow grid* (a reduced image the optical flow runs on, pixel-centre aligned as
`cv2.resize(..., INTER_AREA)` makes it). Positions that cross between modules are always *frame
pixel coordinates* (x right, y down, 0-based centres), so every function says what it means.
A "source map" is an (h, w, 2) float32 array of frame coordinates in the keyframe, one per model
grid pixel of the current frame, with a boolean `valid` beside it: False where the pixel was not
seen in the keyframe (disoccluded, out of view, no depth), which the callers never guess.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def model_grid(height: int, width: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame coordinates (xs (w,), ys (h,)) of the model grid's pixels for a height x width frame.

    >>> xs, ys = model_grid(240, 320, 60, 80); float(xs[-1]), float(ys[-1])
    (319.0, 239.0)
    """
    xs = np.arange(w, dtype=np.float32) * np.float32((width - 1) / max(w - 1, 1))
    ys = np.arange(h, dtype=np.float32) * np.float32((height - 1) / max(h - 1, 1))
    return xs, ys


def frame_to_grid(x: np.ndarray, frame_side: int, grid_side: int) -> np.ndarray:
    """Frame coordinates -> pixel coordinates of a pixel-centre aligned reduced grid (flow grid)."""
    return (x + 0.5) * np.float32(grid_side / frame_side) - 0.5


def grid_to_frame(x: np.ndarray, frame_side: int, grid_side: int) -> np.ndarray:
    """Inverse of `frame_to_grid`."""
    return (x + 0.5) * np.float32(frame_side / grid_side) - 0.5


def sample_map(values: np.ndarray, x: np.ndarray, y: np.ndarray, nearest: bool = False) -> np.ndarray:
    """`values` (H, W[, C]) read at pixel positions (x, y) of its own grid (bilinear or nearest);
    outside the array reads 0 (`cv2.remap` with a constant border)."""
    import cv2

    mode = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.remap(values, x.astype(np.float32), y.astype(np.float32), mode, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=0)


def inside(x: np.ndarray, y: np.ndarray, width: int, height: int) -> np.ndarray:
    """Whether frame coordinates fall on the image (with the half-pixel border)."""
    return (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)


def backproject(depth_m: np.ndarray, xs: np.ndarray, ys: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Points (h, w, 3) in the camera frame (metres) of the pixels at frame coordinates xs (w,) x ys (h,)
    with depth `depth_m` (h, w) along the optical axis; K is the 3x3 camera matrix.

    >>> k = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
    >>> backproject(np.full((1, 1), 2.0), np.array([150.0]), np.array([40.0]), k)[0, 0].tolist()
    [2.0, 0.0, 2.0]
    """
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    x = (xs[None, :] - cx) / fx * depth_m
    y = (ys[:, None] - cy) / fy * depth_m
    return np.stack([x, y, depth_m], axis=-1).astype(np.float32)


def reproject(points: np.ndarray, pose: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (h, w, 3) of this camera moved by `pose` (4x4, this camera -> the other) and projected
    with K: (x, y, z) in the other camera (frame coordinates and depth; z <= 0 means behind it)."""
    p = points @ pose[:3, :3].T.astype(np.float32) + pose[:3, 3].astype(np.float32)
    z = p[..., 2]
    safe = np.where(z > 1e-6, z, 1.0)
    x = p[..., 0] / safe * np.float32(k[0, 0]) + np.float32(k[0, 2])
    y = p[..., 1] / safe * np.float32(k[1, 1]) + np.float32(k[1, 2])
    return x.astype(np.float32), y.astype(np.float32), z.astype(np.float32)


def depth_agrees(z: np.ndarray, seen: np.ndarray, abs_m: float = 0.04, rel: float = 0.04) -> np.ndarray:
    """True where a reprojected depth `z` matches the depth `seen` there (both metres, 0 = none):
    the point was visible, not hidden behind something nearer (disocclusion test)."""
    return (seen > 0) & (z > 0) & (np.abs(z - seen) <= abs_m + rel * seen)


def warp_probabilities(probs: torch.Tensor, source: np.ndarray, valid: np.ndarray, frame_hw: tuple[int, int]
                       ) -> torch.Tensor:  # fmt: skip
    """Keyframe class probabilities (1, C, h, w) on the model grid, read at `source` (h', w', 2) frame
    coordinates (bilinear, align_corners=True as the upsample): (1, C, h', w'), all 0 where not `valid`.

    >>> p = torch.rand(1, 3, 4, 5)
    >>> xs, ys = model_grid(8, 10, 4, 5)
    >>> src = np.stack(np.meshgrid(xs, ys), -1)
    >>> bool(torch.allclose(warp_probabilities(p, src, np.ones((4, 5), bool), (8, 10)), p, atol=1e-5))
    True
    """
    if probs.ndim != 4 or probs.shape[0] != 1:
        raise ValueError(f"probs must be (1, C, h, w), got {tuple(probs.shape)}")
    if source.ndim != 3 or source.shape[2] != 2 or valid.shape != source.shape[:2]:
        raise ValueError(f"source must be (h, w, 2) with valid (h, w), got {source.shape} and {valid.shape}")
    height, width = frame_hw
    grid = np.empty_like(source, dtype=np.float32)
    grid[..., 0] = source[..., 0] * (2.0 / max(width - 1, 1)) - 1.0
    grid[..., 1] = source[..., 1] * (2.0 / max(height - 1, 1)) - 1.0
    g = torch.from_numpy(grid)[None].to(probs.device)
    out = F.grid_sample(probs, g, mode="bilinear", padding_mode="border", align_corners=True)
    return out.mul_(torch.from_numpy(valid.astype(np.float32))[None, None].to(probs.device))
