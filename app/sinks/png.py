"""A palette ("indexed") PNG writer: one file that is both the raw class ids and a colored
picture. OpenCV cannot write palette PNGs, so this writes the chunks itself (zlib, no filter)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_indexed_png(path: str | Path, indices: np.ndarray, palette: np.ndarray) -> None:
    """indices: uint8 HxW (the pixel values readers such as PIL return); palette: uint8 (256, 3) RGB."""
    if indices.dtype != np.uint8 or indices.ndim != 2:
        raise ValueError(f"indexed PNG needs uint8 HxW indices, got {indices.dtype} {indices.shape}")
    if palette.dtype != np.uint8 or palette.shape != (256, 3):
        raise ValueError(f"indexed PNG needs a uint8 (256, 3) palette, got {palette.dtype} {palette.shape}")
    h, w = indices.shape
    rows = np.zeros((h, w + 1), np.uint8)  # each row starts with filter type 0 (none)
    rows[:, 1:] = indices
    header = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)  # 8-bit, color type 3 = palette
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", np.ascontiguousarray(palette).tobytes())
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )
    Path(path).write_bytes(data)
