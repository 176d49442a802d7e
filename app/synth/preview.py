"""A contact sheet of rendered frames: colour | depth (colourised, holes black) | labels (palette)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def colorize_depth(depth_mm: np.ndarray, max_mm: float = 7000.0) -> np.ndarray:
    """uint16 millimetres -> RGB (turbo colour map, near = blue), holes black."""
    import cv2

    scaled = np.clip(depth_mm.astype(np.float32) / max_mm * 255.0, 0, 255).astype(np.uint8)
    rgb = cv2.applyColorMap(scaled, cv2.COLORMAP_TURBO)[..., ::-1].copy()
    rgb[depth_mm == 0] = 0
    return rgb


def colorize_labels(labels_nyu40: np.ndarray) -> np.ndarray:
    """NYU40 ids (1..40, 0 = unlabelled) -> RGB in the project palette (unlabelled in its 'no prediction' colour)."""
    import assets

    return assets.colorize(assets.nyu40_to_ids(labels_nyu40))


def montage(frames: list, gap: int = 2) -> np.ndarray:
    """One row per frame (objects with .color, .depth, .labels)."""
    rows = []
    for f in frames:
        h = f.color.shape[0]
        sep = np.full((h, gap, 3), 255, np.uint8)
        rows.append(np.concatenate([f.color, sep, colorize_depth(f.depth), sep, colorize_labels(f.labels)], axis=1))
        rows.append(np.full((gap, rows[-1].shape[1], 3), 255, np.uint8))
    return np.concatenate(rows[:-1], axis=0)


def write_montage(path: str | Path, frames: list, scale: float = 1.0) -> None:
    """Write the sheet as PNG. scale < 1 makes a compact preview (for docs): downscaled, and the
    two lowest bits of every channel dropped so the camera noise compresses."""
    import cv2

    img = montage(frames)
    if scale != 1.0:
        h, w = img.shape[:2]
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        if scale < 1.0:
            img = (img >> 2) << 2
    if not cv2.imwrite(str(path), img[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"could not write {path}")
