"""A folder of color/depth image pairs: the NYUDv2 layout (RGB/ + Depth/) or `*_color.*` /
`*_depth.*` pairs side by side.

Depth is a 16-bit PNG in raw units (metres per unit from `depth_scale`, default 0.001) or a
`.npy` array (uint16 raw units, or float metres). Intrinsics come from `intrinsics.json`
({width, height, fx, fy, cx, cy}, 0-based) in the folder, else the NYUv2 color camera scaled
to the image size (a note says so). The first pair is read when the source is created, so a
folder of unreadable files fails at once; later unreadable pairs become `BadFrame`s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.sources.base import BadFrame, Source, SourceInfo, SourceItem, SourceOptions, now_ns
from sgnet.frames import Intrinsics, RGBDFrame

COLOR_EXTS = (".png", ".jpg", ".jpeg")
DEPTH_EXTS = (".png", ".npy")
COLOR_DIRS = ("rgb", "color", "image", "images")
DEPTH_DIRS = ("depth",)
PAIR_SUFFIXES = (("_color", "_depth"), ("_rgb", "_depth"))
DEFAULT_DEPTH_SCALE = 0.001
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class Pair:
    name: str
    color: Path
    depth: Path


def _natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def _subdir(root: Path, names: tuple[str, ...]) -> Path | None:
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name.lower() in names:
            return child
    return None


def _by_stem(folder: Path, exts: tuple[str, ...]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in folder.iterdir():
        if p.is_file() and p.suffix.lower() in exts:
            out.setdefault(p.stem, p)
    return out


def find_pairs(root: Path) -> tuple[list[Pair], str]:
    """The (color, depth) pairs under root, in natural order, and the layout's name."""
    cdir, ddir = _subdir(root, COLOR_DIRS), _subdir(root, DEPTH_DIRS)
    if cdir is not None and ddir is not None:
        colors, depths = _by_stem(cdir, COLOR_EXTS), _by_stem(ddir, DEPTH_EXTS)
        names = sorted(set(colors) & set(depths), key=_natural_key)
        return [Pair(n, colors[n], depths[n]) for n in names], f"{cdir.name}/ + {ddir.name}/"
    files = [p for p in root.iterdir() if p.is_file()]
    for csuf, dsuf in PAIR_SUFFIXES:
        colors = {p.stem[: -len(csuf)]: p for p in files if p.stem.endswith(csuf) and p.suffix.lower() in COLOR_EXTS}
        depths = {p.stem[: -len(dsuf)]: p for p in files if p.stem.endswith(dsuf) and p.suffix.lower() in DEPTH_EXTS}
        names = sorted(set(colors) & set(depths), key=_natural_key)
        if names:
            return [Pair(n, colors[n], depths[n]) for n in names], f"*{csuf} / *{dsuf} pairs"
    return [], ""


def read_color(path: Path) -> np.ndarray:
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ValueError(f"cannot decode color image {path.name}")
    return np.ascontiguousarray(img[:, :, ::-1])


def read_depth(path: Path, depth_scale: float) -> np.ndarray:
    """Raw uint16 depth units; float .npy input is metres and is converted with depth_scale."""
    if path.suffix.lower() == ".npy":
        try:
            d = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read depth array {path.name}: {e}") from None
        if d.ndim != 2:
            raise ValueError(f"depth array {path.name} has shape {d.shape}; expected HxW")
        if np.issubdtype(d.dtype, np.floating):
            if not np.isfinite(d).all():
                raise ValueError(f"depth {path.name} contains NaN or infinite values")
            if (d < 0).any():
                raise ValueError(f"depth {path.name} has negative distances")
            units = np.rint(d / depth_scale)
            return np.clip(units, 0, 65535).astype(np.uint16)
        if d.dtype != np.uint16:
            raise ValueError(f"depth array {path.name} is {d.dtype}; expected uint16 raw units or float metres")
        return d
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    d = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if d is None:
        raise ValueError(f"cannot decode depth image {path.name}")
    if d.ndim != 2 or d.dtype != np.uint16:
        raise ValueError(f"depth {path.name} is {d.dtype} with shape {d.shape}; expected a 16-bit single-channel PNG")
    return d


def read_intrinsics(root: Path, width: int, height: int) -> tuple[Intrinsics, str | None]:
    """Intrinsics for width x height images, and a note for the user when they are assumed."""
    from sgnet.data.nyudv2 import nyu_intrinsics, read_intrinsics_json

    path = root / "intrinsics.json"
    if path.is_file():
        intr = read_intrinsics_json(path)
        if (intr.width, intr.height) != (width, height):
            return intr.scaled(width, height), (
                f"{path.name} is for {intr.width}x{intr.height}; scaled to the images' {width}x{height}"
            )
        return intr, None
    note = f"no intrinsics.json in {root}: assuming the NYUv2 color camera"
    if (width, height) != (640, 480):
        note += f" scaled to {width}x{height}"
    note += " (add intrinsics.json with width, height, fx, fy, cx, cy for correct 3D)"
    return nyu_intrinsics(width, height), note


class FolderSource(Source):
    """Every pair in the folder, in natural file-name order (lossless)."""

    def __init__(self, root: str | Path, options: SourceOptions | None = None) -> None:
        super().__init__()
        opts = options or SourceOptions()
        self.root = Path(root)
        self.depth_scale = DEFAULT_DEPTH_SCALE if opts.depth_scale is None else float(opts.depth_scale)
        if not (self.depth_scale > 0 and np.isfinite(self.depth_scale)):
            raise UserError(f"--depth-scale must be a positive number of metres per unit, got {opts.depth_scale}")
        self.pairs, layout = find_pairs(self.root)
        if not self.pairs:
            raise UserError(
                f"no frames in {self.root}: expected RGB/ and Depth/ subfolders (NYUDv2 layout) or "
                "NAME_color.png + NAME_depth.png pairs"
            )
        try:
            color = read_color(self.pairs[0].color)
            depth = read_depth(self.pairs[0].depth, self.depth_scale)
        except ValueError as e:
            raise UserError(f"{self.root}: {e}") from None
        if color.shape[:2] != depth.shape:
            raise UserError(
                f"{self.root}: color {self.pairs[0].color.name} is {color.shape[1]}x{color.shape[0]} but depth "
                f"{self.pairs[0].depth.name} is {depth.shape[1]}x{depth.shape[0]}; they must be aligned, same size"
            )
        self.height, self.width = depth.shape
        self.intrinsics, note = read_intrinsics(self.root, self.width, self.height)
        self.notes = [note] if note else []
        self._fps = float(opts.fps or DEFAULT_FPS)
        self._realtime = opts.realtime
        self._info = SourceInfo(
            kind="folder",
            description=f"folder {self.root} ({layout}): {len(self.pairs)} frames, {self.width}x{self.height}",
            width=self.width,
            height=self.height,
            fps=self._fps,
            live=bool(opts.realtime),
            clock="none",
            num_frames=len(self.pairs),
        )

    @property
    def info(self) -> SourceInfo:
        return self._info

    def read(self, index: int) -> SourceItem:
        pair = self.pairs[index]
        ts = index * 1000.0 / self._fps
        try:
            color = read_color(pair.color)
            depth = read_depth(pair.depth, self.depth_scale)
        except ValueError as e:
            return BadFrame(index, str(e), ts, now_ns())
        if color.shape[:2] != (self.height, self.width) or depth.shape != (self.height, self.width):
            return BadFrame(
                index,
                f"{pair.name}: color {color.shape[1]}x{color.shape[0]} / depth {depth.shape[1]}x{depth.shape[0]} "
                f"differ from the folder's {self.width}x{self.height}",
                ts,
                now_ns(),
            )
        return RGBDFrame(color, depth, self.depth_scale, self.intrinsics, index, ts, now_ns())

    def _frames(self) -> Iterator[SourceItem]:
        t0 = time.monotonic()
        for i in range(len(self.pairs)):
            if self._realtime:
                delay = t0 + i / self._fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self.read(i)
