"""Intrinsics of dataset frames: read from a dataset's own files, fitted to the frame's size, and
guessed when there are none — never stretched unevenly.

Scaling a camera to another size of the same aspect ratio is exact (a resized image). Scaling it
to another aspect ratio is not: 640x480 intrinsics stretched to 1280x720 give fx 1037.7 and fy
779.2, pixels 1.33 times taller than wide, and every 3D point (xyz, HHA, the point cloud) comes
out bent. So a frame without intrinsics that is not 4:3 gets square pixels (fx = fy, the NYUv2
camera's horizontal field of view) centred on the image, and says so; intrinsics of another
aspect ratio are an error (or, where the caller allows, the same square-pixel guess and a warning).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sgnet.errors import DatasetError
from sgnet.frames import Intrinsics

NYU_SIZE = (640, 480)
ASPECT_TOLERANCE = 0.01  # 1 %: a camera scaled within it is a resize, not a stretch
Camera = tuple[float, float, float, float]  # (fx, fy, cx, cy), 0-based, for the frame as the reader returns it


def _nyu() -> Intrinsics:
    import hha

    return Intrinsics(*NYU_SIZE, *hha.NYU_INTRINSICS)


def same_aspect(w0: int, h0: int, w: int, h: int) -> bool:
    return abs((w / w0) / (h / h0) - 1.0) <= ASPECT_TOLERANCE


def square_pixels(width: int, height: int, fx: float) -> Intrinsics:
    """fx = fy = `fx`, principal point at the image centre (0-based)."""
    return Intrinsics(int(width), int(height), fx, fx, (width - 1) / 2, (height - 1) / 2)


def nyu_intrinsics(width: int = NYU_SIZE[0], height: int = NYU_SIZE[1]) -> Intrinsics:
    """The NYUv2 colour camera (0-based) resized to width x height when that is 4:3; for any other
    aspect ratio, square pixels with the NYUv2 camera's horizontal field of view, centred.

    Example: nyu_intrinsics(320, 240).fx == 259.4; nyu_intrinsics(1280, 720) has fx = fy = 1037.7.
    """
    base = _nyu()
    if (width, height) == NYU_SIZE:
        return base
    if same_aspect(*NYU_SIZE, width, height):
        return base.scaled(width, height)
    return square_pixels(width, height, base.fx * width / NYU_SIZE[0])


def fit_intrinsics(
    given: Intrinsics | None,
    width: int,
    height: int,
    what: str = "intrinsics",
    add: str = "add intrinsics.json with width, height, fx, fy, cx, cy",
    strict: bool = True,
) -> tuple[Intrinsics, str | None]:
    """Intrinsics for a width x height frame from `given` (any size), and a note for the user when
    they were assumed, scaled or guessed. `what` names where intrinsics come (or would come) from,
    `add` how to supply them. Intrinsics of another aspect ratio raise `DatasetError` when
    `strict`, else become the square-pixel guess with its horizontal field of view, and a warning."""
    size = f"{width}x{height}"
    if given is None:
        intr = nyu_intrinsics(width, height)
        if same_aspect(*NYU_SIZE, width, height):
            scaled = "" if (width, height) == NYU_SIZE else f" scaled to {size}"
            return intr, f"no {what}: assuming the NYUv2 colour camera{scaled} ({add} for correct 3D)"
        return intr, (
            f"no {what} for {size} frames, which are not 4:3: guessing square pixels (fx = fy = {intr.fx:.1f}, "
            f"the NYUv2 camera's horizontal field of view) centred on the image ({add} for correct 3D)"
        )
    own = f"{given.width}x{given.height}"
    if (given.width, given.height) == (width, height):
        return given, None
    if same_aspect(given.width, given.height, width, height):
        return given.scaled(width, height), f"{what} is for {own}; scaled to the frames' {size}"
    if strict:
        raise DatasetError(
            f"{what} is for {own} but the frames are {size}, another aspect ratio (another camera, or a cropped "
            f"image): stretching it would bend every 3D point; give intrinsics for {size}"
        )
    intr = square_pixels(width, height, given.fx * width / given.width)
    return intr, (
        f"warning: {what} is for {own} but the frames are {size}, another aspect ratio: not stretched; "
        f"guessing square pixels (fx = fy = {intr.fx:.1f}, its horizontal field of view) centred on the image "
        f"(give intrinsics for {size} for correct 3D)"
    )


def read_intrinsics_json(path: Path) -> Intrinsics:
    """{width, height, fx, fy, cx, cy} (0-based pixel centres) -> Intrinsics."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        size = int(d["width"]), int(d["height"])
        return Intrinsics(*size, float(d["fx"]), float(d["fy"]), float(d["cx"]), float(d["cy"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(
            f"bad intrinsics file {path} ({type(e).__name__}: {e}); expected JSON with width, height, fx, fy, cx, cy"
        ) from None


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def read_camera_matrix(path: Path, one_based: bool = False) -> Camera:
    """(fx, fy, cx, cy) from a text file holding a 3x3 K or a 4x4 matrix whose top-left 3x3 is K,
    row-major (SUN RGB-D's intrinsics.txt, ScanNet's intrinsic_*.txt). `one_based`: the principal
    point is in MATLAB's 1-based pixel coordinates (SUN RGB-D's toolbox) and is moved to 0-based."""
    try:
        values = [float(v) for v in _NUMBER.findall(path.read_text(encoding="utf-8"))]
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read camera matrix {path}: {e}") from None
    if len(values) not in (9, 16):
        raise DatasetError(f"{path} holds {len(values)} numbers; expected a 3x3 or 4x4 camera matrix (row-major)")
    n = 3 if len(values) == 9 else 4
    fx, cx, fy, cy = values[0], values[2], values[n + 1], values[n + 2]
    if not (fx > 0 and fy > 0):
        raise DatasetError(f"{path}: focal lengths must be positive, got fx={fx}, fy={fy}")
    return (fx, fy, cx - 1, cy - 1) if one_based else (fx, fy, cx, cy)
