"""The embedded demo: a camera walking through furnished rooms that `sgnet synth` rendered.

The frames come from `assets/demo_clip.zip` (see `app.sources.clip`; made by
scripts/make_demo_clip.py with a seed no training set uses), so `--camera demo` shows the
shipped model on rooms it has never seen, with RealSense-like depth, and needs no camera and
no download. The clip is decoded once per process and loops; `ground_truth(i)` gives the
rendered labels of frame i (for tests and for measuring the demo's accuracy).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from importlib.resources import as_file
from pathlib import Path

import cv2
import numpy as np

from app.errors import UserError
from app.sources.base import Source, SourceError, SourceInfo, SourceItem, SourceOptions, now_ns
from app.sources.clip import Clip, ClipError, read_clip
from assets import nyu40_to_ids
from sgnet.frames import RGBDFrame

CLIP_RESOURCE = "demo_clip.zip"


@functools.lru_cache(maxsize=2)
def _load(path: str) -> Clip:
    return read_clip(path)


def load_demo_clip(path: str | Path | None = None) -> Clip:
    """The shipped clip (or the clip at `path`), decoded once per process."""
    try:
        if path is not None:
            return _load(str(Path(path).resolve()))
        from assets import resource_path

        with as_file(resource_path(CLIP_RESOURCE)) as p:
            return _load(str(p))
    except (ClipError, FileNotFoundError) as e:
        raise SourceError(
            f"the demo clip cannot be read ({e}); reinstall sgnet-live (pip install -e .) to restore assets/"
        ) from None


def _freeze(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


class DemoSource(Source):
    """The demo clip as a source: lossless and as fast as it is consumed, or paced at the clip's
    fps with realtime=True. A width/height other than the clip's resizes every frame (and the
    intrinsics with it); `loop` plays only the first `loop` frames."""

    def __init__(self, options: SourceOptions | None = None, loop: int | None = None, clip: str | Path | None = None):
        super().__init__()
        opts = options or SourceOptions()
        data = load_demo_clip(clip)
        frames = data.frames[:loop] if loop else data.frames
        width = opts.width or data.intrinsics.width
        height = opts.height or data.intrinsics.height
        resize = (width, height) != (data.intrinsics.width, data.intrinsics.height)
        self.intrinsics = data.intrinsics.scaled(width, height) if resize else data.intrinsics
        if opts.depth_scale is not None and not (opts.depth_scale > 0 and np.isfinite(opts.depth_scale)):
            raise UserError(f"--depth-scale must be a positive number of metres per unit, got {opts.depth_scale}")
        self.depth_scale = data.depth_scale if opts.depth_scale is None else float(opts.depth_scale)
        self.use_software_filters(opts.filters)
        self._color, self._depth, self._truth = [], [], []
        for f in frames:
            color, depth, labels = f.color, f.depth, f.labels
            if resize:
                color = cv2.resize(color, (width, height), interpolation=cv2.INTER_AREA)
                depth = cv2.resize(depth, (width, height), interpolation=cv2.INTER_NEAREST)
                labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
            self._color.append(_freeze(color))
            self._depth.append(_freeze(depth))
            self._truth.append(_freeze(nyu40_to_ids(labels)))
        self.loop = len(self._color)
        self._fps = float(opts.fps or data.fps)
        self._realtime = opts.realtime
        rooms = ", ".join(data.meta.get("rooms", [])) or "synthetic rooms"
        self._info = SourceInfo(
            kind="demo",
            description=f"demo clip ({rooms}), {width}x{height}, {self.loop}-frame loop",
            width=width,
            height=height,
            fps=self._fps,
            live=bool(opts.realtime),  # paced like a camera: a slow consumer drops frames
            clock="none",
        )

    @property
    def info(self) -> SourceInfo:
        return self._info

    def image(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(color, depth) of frame `index` (read-only arrays shared by every loop)."""
        key = index % self.loop
        return self._color[key], self._depth[key]

    def ground_truth(self, index: int) -> np.ndarray:
        """Rendered labels of frame `index`: prediction ids 0..39, 255 = unlabelled."""
        return self._truth[index % self.loop]

    def frame(self, index: int) -> SourceItem:
        """Frame `index` as the stream yields it (random access, for seeking), after the depth
        filters if any were asked for (a `BadFrame` only if librealsense fails on it)."""
        color, depth = self.image(index)
        return self.filtered(RGBDFrame(
            color=color,
            depth=depth,
            depth_scale=self.depth_scale,
            intrinsics=self.intrinsics,
            index=index,
            device_ts_ms=index * 1000.0 / self._fps,
            arrived_ns=now_ns(),
        ))

    def _frames(self) -> Iterator[SourceItem]:
        t0 = time.monotonic()
        index = 0
        while self._started:
            if self._realtime:
                delay = t0 + index / self._fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self.frame(index)
            index += 1
