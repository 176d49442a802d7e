"""Decoding one colour, depth or label file, with a reason that names the file.

Every dataset reader and the live app's folder source decode through here, so a file that
cannot be used fails the same way everywhere: `FileReadError` (a `DatasetError`) carries the
file, what is wrong with it (`what`, a phrase that follows the file's name: " is empty (0
bytes)", ": permission denied") and what the user can do (`fix`). The decoders take bytes, so a
caller may read files its own way (the app reads with `open`, to name files relative to the
folder); `read_*` read with `np.fromfile`.

Depth comes as 16-bit images (PNG, TIFF, PGM: raw units) or `.npy` arrays (uint16 raw units, or
float metres, turned into raw units with the dataset's depth scale). Labels come as single-channel
8/16-bit PNGs or as palette ("indexed") PNGs, whose pixel values are the palette indices — read
as indices, not as the colours the palette draws them in (OpenCV would expand them to RGB).
"""

from __future__ import annotations

import io
import shlex
from pathlib import Path

import numpy as np

from sgnet.errors import DatasetError

COLOR_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
DEPTH_EXTS = (".png", ".npy", ".tif", ".tiff", ".pgm")
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"P5", b"P6", b"RIFF")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class FileReadError(DatasetError):
    """One file could not be used. str(): "<file><what> (<fix>)", led by "cannot read" when the
    file could not even be read ("cannot read D/0.png: permission denied (...)")."""

    def __init__(self, path: str | Path, what: str, fix: str = "") -> None:
        self.path, self.what, self.fix = path, what, fix
        lead = "cannot read " if what.startswith(":") else ""
        super().__init__(f"{lead}{path}{what}" + (f" ({fix})" if fix else ""))


def read_bytes(path: Path) -> np.ndarray:
    """The file's bytes as a uint8 array; every way of failing is a `FileReadError`."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except PermissionError:
        raise FileReadError(path, ": permission denied", f"check its permissions, e.g. chmod a+r {_q(path)}") from None
    except FileNotFoundError:
        raise FileReadError(path, ": no such file") from None
    except IsADirectoryError:
        raise FileReadError(path, " is a folder, not an image file") from None
    except OSError as e:
        raise FileReadError(path, f": {(e.strerror or str(e)).lower()}") from None
    if not data.size:
        raise FileReadError(path, " is empty (0 bytes)")
    return data


def read_color(path: Path) -> np.ndarray:
    return decode_color(read_bytes(path), path)


def read_depth(path: Path, depth_scale: float) -> np.ndarray:
    return decode_depth(read_bytes(path), path, depth_scale, refuse_overflow=True)


def read_label(path: Path) -> np.ndarray:
    return decode_label(read_bytes(path), path)


def decode_color(data: bytes | np.ndarray, name: str | Path) -> np.ndarray:
    """8-bit RGB, HxWx3 (an alpha channel is dropped; EXIF orientation applied, as OpenCV does)."""
    import cv2

    img = _decode(data, name, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH)
    channels = 1 if img.ndim == 2 else img.shape[2]
    if img.dtype != np.uint8 or channels != 3:
        shape = "grayscale (1 channel)" if channels == 1 else f"{channels}-channel"
        raise FileReadError(name, f" is {_bits(img)} {shape}; colour images must be 8-bit with 3 channels (RGB)")
    return np.ascontiguousarray(img[:, :, ::-1])


def decode_depth(
    data: bytes | np.ndarray, name: str | Path, depth_scale: float, refuse_overflow: bool = False
) -> np.ndarray:
    """Raw uint16 depth units. 16-bit images and uint16 .npy are raw units; float .npy/TIFF is
    metres, converted with depth_scale (metres per unit). `refuse_overflow`: float depth whose
    median does not fit 16-bit units (millimetres saved as float) is an error rather than clipped —
    for datasets, whose scores it would spoil; the live app clips and warns per run instead."""
    import cv2

    npy = Path(name).suffix.lower() == ".npy"
    d = _load_npy(data, name) if npy else _decode(data, name, cv2.IMREAD_UNCHANGED)
    if d.ndim == 3 and d.shape[2] == 1:
        d = d[:, :, 0]
    if d.ndim != 2:
        raise FileReadError(name, f" has shape {d.shape}; depth must be HxW, one channel")
    if np.issubdtype(d.dtype, np.floating):
        return _metres_to_units(d, name, depth_scale, refuse_overflow)
    if d.dtype != np.uint16:
        raise FileReadError(
            name, f" is {_bits(d)}; depth must be 16-bit raw units (metres per unit: --depth-scale) or float metres"
        )
    return d


def decode_label(data: bytes | np.ndarray, name: str | Path) -> np.ndarray:
    """Class ids as stored, uint8 or uint16 HxW: a grey PNG's values, a palette PNG's indices."""
    import cv2

    raw = bytes(data) if isinstance(data, np.ndarray) else data
    if _is_palette_png(raw):
        return _palette_indices(raw, name)
    lab = _decode(raw, name, cv2.IMREAD_UNCHANGED)
    if lab.ndim == 3 and lab.shape[2] == 1:
        lab = lab[:, :, 0]
    if lab.ndim == 3:
        raise FileReadError(
            name, f" is a {lab.shape[2]}-channel colour image; labels must be class ids "
            "(a single-channel or palette PNG, not a colour rendering of the classes)"
        )
    if lab.dtype not in (np.uint8, np.uint16):
        raise FileReadError(name, f" is {_bits(lab)}; labels must be 8- or 16-bit class ids")
    return lab


def _is_palette_png(data: bytes) -> bool:
    """A PNG whose IHDR says colour type 3 (palette)."""
    return len(data) >= 33 and data.startswith(_PNG_SIGNATURE) and data[12:16] == b"IHDR" and data[25] == 3


def _palette_indices(data: bytes, name: str | Path) -> np.ndarray:
    """The pixel values of a palette PNG: the indices, at any bit depth (Pillow keeps mode "P")."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if img.mode != "P":
                raise FileReadError(name, f" is a palette PNG that decodes as {img.mode}; labels must be class ids")
            return np.asarray(img, dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        raise FileReadError(name, " is truncated or corrupt (cannot decode)") from None


def _decode(data: bytes | np.ndarray, name: str | Path, flags: int) -> np.ndarray:
    import cv2

    buf = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    try:
        img = cv2.imdecode(buf, flags)
    except cv2.error:
        img = None
    if img is None:
        if not buf[:8].tobytes().startswith(_IMAGE_MAGIC):
            raise FileReadError(name, " is not an image file (cannot decode)")
        raise FileReadError(name, " is truncated or corrupt (cannot decode)")
    return img


def _load_npy(data: bytes | np.ndarray, name: str | Path) -> np.ndarray:
    raw = bytes(data) if isinstance(data, np.ndarray) else data
    if not raw.startswith(b"\x93NUMPY"):
        raise FileReadError(name, " is not a NumPy .npy array (cannot read)")
    try:
        d = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, EOFError, OSError):
        raise FileReadError(name, " is truncated or corrupt (cannot read the array)") from None
    if not np.issubdtype(d.dtype, np.number) or np.issubdtype(d.dtype, np.complexfloating):
        raise FileReadError(name, f" holds {d.dtype} values; depth must be uint16 raw units or float metres")
    return d


def _metres_to_units(d: np.ndarray, name: str | Path, depth_scale: float, refuse_overflow: bool) -> np.ndarray:
    if not np.isfinite(d).all():
        raise FileReadError(name, " contains NaN or infinite values")
    if (d < 0).any():
        raise FileReadError(name, " has negative distances")
    limit = 65535 * depth_scale
    valid = d[d > 0] if refuse_overflow else d[:0]
    if valid.size and float(np.median(valid)) > limit:
        # clipping would turn the whole frame into one far wall: millimetres saved as float, most likely
        raise FileReadError(
            name, f" holds float depth with a median of {float(np.median(valid)):.4g}, beyond the {limit:.4g} m that "
            f"16-bit units of {depth_scale} m can hold; float depth must be metres (millimetres? divide by 1000)"
        )
    return np.clip(np.rint(d / depth_scale), 0, 65535).astype(np.uint16)


def _bits(img: np.ndarray) -> str:
    """ "8-bit", "16-bit", "32-bit float" ..."""
    return f"{img.dtype.itemsize * 8}-bit" + (" float" if np.issubdtype(img.dtype, np.floating) else "")


def _q(path: str | Path) -> str:
    return shlex.quote(str(path))
