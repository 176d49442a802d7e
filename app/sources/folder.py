"""A folder of color/depth image pairs (layouts: `app.sources.folder_layout`).

Depth is a 16-bit image in raw units (PNG, TIFF, PGM; metres per unit from `depth_scale`,
default 0.001) or a `.npy` array (uint16 raw units, or float metres; float TIFF is metres too).
Intrinsics come from `intrinsics.json` ({width, height, fx, fy, cx, cy}, 0-based) in the
folder, else the NYUv2 color camera scaled to the image size when it is 4:3, else square pixels
(fx = fy) with the NYUv2 camera's field of view — never an uneven stretch (a note says which).
A dataset layout (TUM RGB-D, ScanNet, SUN RGB-D) is read through its `sgnet.data` reader: its
own depth units, intrinsics and timestamps (TUM). The first pair
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
from app.sources.image_files import FrameFileError, from_read_error, read_color, read_depth
from app.sources.stderr_filter import without_decoder_chatter
from sgnet.data.files import FileReadError
from sgnet.frames import Intrinsics, RGBDFrame

DEFAULT_DEPTH_SCALE = 0.001
DEFAULT_FPS = 30.0

__all__ = ["FolderSource", "Pair", "read_intrinsics"]


def read_intrinsics(root: Path, width: int, height: int) -> tuple[Intrinsics, str | None]:
    """Intrinsics for width x height images, and a note for the user when they are assumed,
    scaled or guessed. intrinsics.json of another aspect ratio is not stretched: a viewer still
    runs, on square pixels with its horizontal field of view, and a warning says so."""
    from sgnet.data import fit_intrinsics, read_intrinsics_json

    path = root / "intrinsics.json"
    given = read_intrinsics_json(path) if path.is_file() else None
    what = path.name if given is not None else f"intrinsics.json in {root}"
    add = "add intrinsics.json with width, height, fx, fy, cx, cy"
    return fit_intrinsics(given, width, height, what=what, add=add, strict=False)


class FolderSource(Source):
    """Every pair in the folder, in natural file-name order (lossless)."""

    def __init__(self, root: str | Path, options: SourceOptions | None = None) -> None:
        super().__init__()
        opts = options or SourceOptions()
        self.root = Path(root)
        self.depth_scale = DEFAULT_DEPTH_SCALE if opts.depth_scale is None else float(opts.depth_scale)
        if not (self.depth_scale > 0 and np.isfinite(self.depth_scale)):
            raise UserError(f"--depth-scale must be a positive number of metres per unit, got {opts.depth_scale}")
        layout = find_pairs(self.root, opts.depth_scale)
        self.pairs = layout.pairs
        self._dataset = layout.dataset
        if self._dataset is not None:
            self.depth_scale = self._dataset.depth_scale
        try:
            color, depth, intr = without_decoder_chatter(lambda: self._read_index(0))
        except FrameFileError as e:
            fix = f" ({e.fix})" if e.fix else ""
            raise UserError(f"{self.root / e.rel}{e.what}{fix}") from None
        if color.shape[:2] != depth.shape:
            raise UserError(
                f"{self.root}: color {self.pairs[0].color.name} is {color.shape[1]}x{color.shape[0]} but depth "
                f"{self.pairs[0].depth.name} is {depth.shape[1]}x{depth.shape[0]}; they must be aligned, same size"
            )
        self.height, self.width = depth.shape
        note = None
        if intr is None:
            intr, note = read_intrinsics(self.root, self.width, self.height)
        self.intrinsics = intr
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

    def _read_index(self, index: int) -> tuple[np.ndarray, np.ndarray, Intrinsics | None]:
        """Colour, raw depth and, for a dataset layout, the frame's own intrinsics."""
        if self._dataset is not None:
            try:
                frame = self._dataset.read_frame(index)
            except FileReadError as e:
                raise from_read_error(e, self.root) from None
            except UserError as e:  # a camera file or sizes the reader cannot use: name the sample
                raise FrameFileError(self.pairs[index].name, f": {e}") from None
            return np.asarray(frame.color), np.asarray(frame.depth), frame.intrinsics
        pair = self.pairs[index]
        color = read_color(pair.color, self._rel(pair.color))
        return color, read_depth(pair.depth, self._rel(pair.depth), self.depth_scale), None

    def _ts_ms(self, index: int) -> float:
        """When frame `index` was taken, relative to the first: its timestamp where the dataset
        keeps them (TUM), else the frame rate's."""
        files = self._dataset.files if self._dataset is not None else None
        if files and files[index].timestamp is not None and files[0].timestamp is not None:
            return (files[index].timestamp - files[0].timestamp) * 1000.0
        return index * 1000.0 / self._fps

    def read(self, index: int) -> SourceItem:
        """Frame `index`, or a `BadFrame` naming the file that could not be used and why."""
        pair = self.pairs[index]
        ts = self._ts_ms(index)
        try:
            color, depth, intr = self._read_index(index)
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
        return self.filtered(RGBDFrame(color, depth, self.depth_scale, intr or self.intrinsics, index, ts, now_ns()))

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
                delay = t0 + self._ts_ms(i) / 1000.0 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self.read(i)
