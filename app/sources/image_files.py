"""Reading one colour or depth file of a folder source, with a reason that names the file.

Every way a file can fail — no permission, removed after the folder was listed, empty,
truncated, the wrong kind of image — raises `FrameFileError`, whose text names the file as the
user knows it (relative to the folder: "Depth/0007.png: permission denied"). The folder source
turns it into a bad frame, or into a `UserError` for the first frame. No bare OSError leaves
here: the live CLI would take it for an output that could not be written. The decoding itself is
`sgnet.data.files`, which the dataset readers share; this module names their failures relative to the folder
and holds back the decoders' chatter on stderr.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.sources.stderr_filter import without_decoder_chatter
from sgnet.data.files import COLOR_EXTS, DEPTH_EXTS, FileReadError, decode_color, decode_depth, read_bytes

__all__ = ["COLOR_EXTS", "DEPTH_EXTS", "FrameFileError", "from_read_error", "read_color", "read_depth"]


class FrameFileError(Exception):
    """One file could not be used: str() = rel + what ("RGB/0003.png is empty (0 bytes)");
    `fix` says what the user can do when the file must be readable before anything runs."""

    def __init__(self, rel: str, what: str, fix: str = "") -> None:
        super().__init__(rel + what)
        self.rel, self.what, self.fix = rel, what, fix


def from_read_error(e: FileReadError, root: Path) -> FrameFileError:
    """A dataset reader's `FileReadError` named relative to the folder, as this module names files."""
    path = Path(e.path)
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = str(path)
    return FrameFileError(rel, e.what, e.fix)


def read_color(path: Path, rel: str) -> np.ndarray:
    """8-bit RGB, HxWx3 (an alpha channel is dropped; EXIF orientation applied, as OpenCV does)."""
    data = _read_bytes(path, rel)
    return _decoded(lambda: decode_color(data, rel))


def read_depth(path: Path, rel: str, depth_scale: float) -> np.ndarray:
    """Raw uint16 depth units. 16-bit images (PNG, TIFF, PGM) and uint16 .npy are raw units;
    float .npy/TIFF is metres, converted with depth_scale."""
    data = _read_bytes(path, rel)
    return _decoded(lambda: decode_depth(data, rel, depth_scale))


def _decoded(decode):
    try:
        return without_decoder_chatter(decode)
    except FileReadError as e:
        raise FrameFileError(str(e.path), e.what, e.fix) from None


def _read_bytes(path: Path, rel: str) -> np.ndarray:
    """The file's bytes (`sgnet.data.files.read_bytes`), its failures named relative to the folder."""
    try:
        return read_bytes(path)
    except FileReadError as e:
        raise FrameFileError(rel, e.what, e.fix) from None
