"""Reading one colour or depth file of a folder source, with a reason that names the file.

Every way a file can fail — no permission, removed after the folder was listed, empty,
truncated, the wrong kind of image — raises `FrameFileError`, whose text names the file as the
user knows it (relative to the folder: "Depth/0007.png: permission denied"). The folder source
turns it into a bad frame, or into a `UserError` for the first frame. No bare OSError leaves
here: the live CLI would take it for an output that could not be written.
"""

from __future__ import annotations

import io
import shlex
from pathlib import Path

import numpy as np

from app.sources.stderr_filter import without_decoder_chatter

COLOR_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
DEPTH_EXTS = (".png", ".npy", ".tif", ".tiff", ".pgm")
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"P5", b"P6", b"RIFF")


class FrameFileError(Exception):
    """One file could not be used: str() = rel + what ("RGB/0003.png is empty (0 bytes)");
    `fix` says what the user can do when the file must be readable before anything runs."""

    def __init__(self, rel: str, what: str, fix: str = "") -> None:
        super().__init__(rel + what)
        self.rel, self.what, self.fix = rel, what, fix


def read_color(path: Path, rel: str) -> np.ndarray:
    """8-bit RGB, HxWx3 (an alpha channel is dropped; EXIF orientation applied, as OpenCV does)."""
    import cv2

    img = _decode(_read_bytes(path, rel), rel, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH)
    channels = 1 if img.ndim == 2 else img.shape[2]
    if img.dtype != np.uint8 or channels != 3:
        shape = "grayscale (1 channel)" if channels == 1 else f"{channels}-channel"
        raise FrameFileError(rel, f" is {_bits(img)} {shape}; colour images must be 8-bit with 3 channels (RGB)")
    return np.ascontiguousarray(img[:, :, ::-1])


def read_depth(path: Path, rel: str, depth_scale: float) -> np.ndarray:
    """Raw uint16 depth units. 16-bit images (PNG, TIFF, PGM) and uint16 .npy are raw units;
    float .npy/TIFF is metres, converted with depth_scale."""
    import cv2

    data = _read_bytes(path, rel)
    if path.suffix.lower() == ".npy":
        d = _load_npy(data, rel)
    else:
        d = _decode(data, rel, cv2.IMREAD_UNCHANGED)
        if d.ndim == 3 and d.shape[2] == 1:
            d = d[:, :, 0]
    if d.ndim != 2:
        raise FrameFileError(rel, f" has shape {d.shape}; depth must be HxW, one channel")
    if np.issubdtype(d.dtype, np.floating):
        return _metres_to_units(d, rel, depth_scale)
    if d.dtype != np.uint16:
        raise FrameFileError(
            rel, f" is {_bits(d)}; depth must be 16-bit raw units (metres per unit: --depth-scale) or float metres"
        )
    return d


def _read_bytes(path: Path, rel: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except PermissionError:
        raise FrameFileError(rel, ": permission denied", f"check its permissions, e.g. chmod a+r {_q(path)}") from None
    except FileNotFoundError:
        raise FrameFileError(rel, ": no such file") from None
    except IsADirectoryError:
        raise FrameFileError(rel, " is a folder, not an image file") from None
    except OSError as e:
        raise FrameFileError(rel, f": {(e.strerror or str(e)).lower()}") from None
    if not data:
        raise FrameFileError(rel, " is empty (0 bytes)")
    return data


def _decode(data: bytes, rel: str, flags: int) -> np.ndarray:
    import cv2

    buf = np.frombuffer(data, np.uint8)
    try:
        img = without_decoder_chatter(lambda: cv2.imdecode(buf, flags))
    except cv2.error:
        img = None
    if img is None:
        if not data.startswith(_IMAGE_MAGIC):
            raise FrameFileError(rel, " is not an image file (cannot decode)")
        raise FrameFileError(rel, " is truncated or corrupt (cannot decode)")
    return img


def _load_npy(data: bytes, rel: str) -> np.ndarray:
    if not data.startswith(b"\x93NUMPY"):
        raise FrameFileError(rel, " is not a NumPy .npy array (cannot read)")
    try:
        d = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, EOFError, OSError):
        raise FrameFileError(rel, " is truncated or corrupt (cannot read the array)") from None
    if not np.issubdtype(d.dtype, np.number) or np.issubdtype(d.dtype, np.complexfloating):
        raise FrameFileError(rel, f" holds {d.dtype} values; depth must be uint16 raw units or float metres")
    return d


def _metres_to_units(d: np.ndarray, rel: str, depth_scale: float) -> np.ndarray:
    if not np.isfinite(d).all():
        raise FrameFileError(rel, " contains NaN or infinite values")
    if (d < 0).any():
        raise FrameFileError(rel, " has negative distances")
    return np.clip(np.rint(d / depth_scale), 0, 65535).astype(np.uint16)


def _bits(img: np.ndarray) -> str:
    """ "8-bit", "16-bit", "32-bit float" ..."""
    return f"{img.dtype.itemsize * 8}-bit" + (" float" if np.issubdtype(img.dtype, np.floating) else "")


def _q(path: Path) -> str:
    return shlex.quote(str(path))
