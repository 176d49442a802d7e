"""PNG files of the NYUDv2 tooling: 16-bit depth in, 8-bit 3-channel HHA out.

Channel order on disk (the MATLAB and Depth2HHA-python convention): the PNG read as RGB is
(R, G, B) = (disparity, height, angle). OpenCV reads and writes BGR, so the array handed to
`cv2.imwrite` is (angle, height, disparity), and `cv2.imread` of an HHA PNG gives that
order back. The tensors of this package are always (disparity, height, angle).

OpenCV is imported inside the functions: `import hha` stays light.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch


def read_depth_png(path: str | os.PathLike, depth_scale: float) -> torch.Tensor:
    """Read a 16-bit depth PNG (raw units, 0 = missing) as float32 metres (H, W).

    Raises ValueError for a file that is unreadable or not single-channel 16-bit: an 8-bit
    depth image has lost its metric values and cannot give a meaningful HHA.
    """
    import cv2

    raw = cv2.imread(os.fspath(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ValueError(f"{path}: not a readable image")
    if raw.ndim != 2 or raw.dtype != np.uint16:
        raise ValueError(f"{path}: expected a single-channel 16-bit depth PNG, got {raw.dtype} with shape {raw.shape}")
    return torch.from_numpy(raw.astype(np.float32) * np.float32(depth_scale))


def hha_to_bgr(hha: torch.Tensor) -> np.ndarray:
    """(3, H, W) uint8 (disparity, height, angle) -> H x W x 3 array in OpenCV's BGR order."""
    if hha.dtype != torch.uint8 or hha.ndim != 3 or hha.shape[0] != 3:
        raise ValueError(f"expected a uint8 (3, H, W) HHA tensor, got {hha.dtype} {tuple(hha.shape)}")
    return np.ascontiguousarray(hha.flip(0).permute(1, 2, 0).cpu().numpy())


def write_hha_png(path: str | os.PathLike, hha: torch.Tensor) -> None:
    """Write an HHA image so that the PNG's R, G, B are disparity, height, angle.

    The file appears complete or not at all (written next to it, then renamed), so an
    interrupted conversion never leaves a truncated PNG that a resumed run would skip.
    """
    import cv2

    ok, buf = cv2.imencode(".png", hha_to_bgr(hha))
    if not ok:
        raise ValueError(f"{path}: PNG encoding failed")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_bytes(buf.tobytes())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_hha_png(path: str | os.PathLike) -> torch.Tensor:
    """Read an HHA PNG back as a uint8 (3, H, W) tensor (disparity, height, angle)."""
    import cv2

    bgr = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: not a readable image")
    return torch.from_numpy(bgr).permute(2, 0, 1).flip(0).contiguous()
