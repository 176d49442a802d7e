"""A folder of color/depth image pairs (layouts: `app.sources.folder_layout`).

Depth is a 16-bit image in raw units (PNG, TIFF, PGM; metres per unit from `depth_scale`,
default 0.001) or a `.npy` array (uint16 raw units, or float metres; float TIFF is metres too).
Intrinsics come from `intrinsics.json` ({width, height, fx, fy, cx, cy}, 0-based) in the
folder, else the NYUv2 color camera scaled to the image size (a note says so). The first pair
is read when the source is created, so a folder of unreadable files fails at once with one
line; any later file that cannot be used (permissions, removed, truncated, wrong format)
becomes a `BadFrame` whose reason names it relative to the folder
("Depth/0007.png: permission denied") and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.sources import stderr_filter
from app.sources.base import BadFrame, Source, SourceInfo, SourceItem, SourceOptions, now_ns
from app.sources.folder_layout import Pair, find_pairs
from app.sources.image_files import FrameFileError, read_color, read_depth
from sgnet.frames import Intrinsics, RGBDFrame

DEFAULT_DEPTH_SCALE = 0.001
DEFAULT_FPS = 30.0

__all__ = ["FolderSource", "Pair", "read_intrinsics"]


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
        layout = find_pairs(self.root)
        self.pairs = layout.pairs
        try:
            color, depth = self._read_pair(self.pairs[0])
        except FrameFileError as e:
            fix = f" ({e.fix})" if e.fix else ""
            raise UserError(f"{self.root / e.rel}{e.what}{fix}") from None
        if color.shape[:2] != depth.shape:
            raise UserError(
                f"{self.root}: color {self.pairs[0].color.name} is {color.shape[1]}x{color.shape[0]} but depth "
                f"{self.pairs[0].depth.name} is {depth.shape[1]}x{depth.shape[0]}; they must be aligned, same size"
            )
        self.height, self.width = depth.shape
        self.intrinsics, note = read_intrinsics(self.root, self.width, self.height)
        self.notes = layout.notes + ([note] if note else [])
        self._fps = float(opts.fps or DEFAULT_FPS)
        self._realtime = opts.realtime
        self._quiet = False
        self.use_software_filters(opts.filters)  # --decimation etc. through librealsense (Source)
        self._info = SourceInfo(
            kind="folder",
            description=f"folder {self.root} ({layout.name}): {len(self.pairs)} frames, {self.width}x{self.height}",
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

    def _rel(self, path: Path) -> str:
        """How the user knows a file: relative to the folder ("Depth/0007.png")."""
        return path.relative_to(self.root).as_posix()

    def _read_pair(self, pair: Pair) -> tuple[np.ndarray, np.ndarray]:
        color = read_color(pair.color, self._rel(pair.color))
        return color, read_depth(pair.depth, self._rel(pair.depth), self.depth_scale)

    def read(self, index: int) -> SourceItem:
        """Frame `index`, or a `BadFrame` naming the file that could not be used and why."""
        pair = self.pairs[index]
        ts = index * 1000.0 / self._fps
        try:
            color, depth = self._read_pair(pair)
        except FrameFileError as e:
            return BadFrame(index, str(e), ts, now_ns())
        if color.shape[:2] != (self.height, self.width) or depth.shape != (self.height, self.width):
            return BadFrame(
                index,
                f"{self._rel(pair.color)} {color.shape[1]}x{color.shape[0]} / {self._rel(pair.depth)} "
                f"{depth.shape[1]}x{depth.shape[0]} differ from the folder's {self.width}x{self.height}",
                ts,
                now_ns(),
            )
        return self.filtered(RGBDFrame(color, depth, self.depth_scale, self.intrinsics, index, ts, now_ns()))

    def _start(self) -> None:
        # while streaming, keep the decoders' chatter held once, instead of once per image
        self._quiet = stderr_filter.hold("decoders")

    def _stop(self) -> None:
        if self._quiet:
            self._quiet = False
            stderr_filter.release("decoders")

    def _frames(self) -> Iterator[SourceItem]:
        t0 = time.monotonic()
        for i in range(len(self.pairs)):
            if self._realtime:
                delay = t0 + i / self._fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self.read(i)
