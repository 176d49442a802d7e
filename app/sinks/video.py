"""MP4 video of the results via OpenCV's VideoWriter (MPEG-4 Part 2, "mp4v": the codec the
opencv-python wheels can always encode and read back).

Frames go to a hidden `.NAME.partial.mp4` next to the target; `close` finalizes the
container and renames it, so `NAME.mp4` is either complete and playable or absent (a run
that produced no frame writes no video).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError
from app.render import VIEWS, view_size
from app.sinks.base import Rendered, Sink

FOURCC = "mp4v"
VIDEO_SUFFIXES = (".mp4",)


class VideoSink(Sink):
    name = "video"

    def __init__(self, path: str | os.PathLike, view: str = "overlay") -> None:
        if view not in VIEWS:
            raise UserError(f"--video-view must be one of {', '.join(VIEWS)}, got {view!r}")
        self.path = Path(path)
        self.view = view
        self.partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.frames = 0
        self._writer: Any = None
        self._size: tuple[int, int] | None = None
        self._fps = 30.0

    def open(self, width: int, height: int, fps: float) -> None:
        self._fps = fps if fps > 0 else 30.0

    def _start(self, img: np.ndarray) -> None:
        import cv2

        h, w = img.shape[:2]
        writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*FOURCC), self._fps, (w, h))
        if not writer.isOpened():
            with contextlib.suppress(OSError):
                self.partial.unlink()
            raise UserError(f"OpenCV cannot write an mp4 video to {self.path} (no FFMPEG backend with the mp4v codec)")
        self._writer, self._size = writer, (w, h)

    def write(self, rendered: Rendered) -> None:
        import cv2

        img = rendered.view(self.view)
        if self._writer is None:
            self._start(img)
        assert self._size is not None
        if (img.shape[1], img.shape[0]) != self._size:  # a source never changes size, but stay safe
            img = cv2.resize(img, self._size, interpolation=cv2.INTER_NEAREST)
        self._writer.write(np.ascontiguousarray(img[:, :, ::-1]))
        self.frames += 1

    def close(self) -> list[str]:
        if self._writer is None:
            return [f"video: no frames, {self.path} not written"]
        self._writer.release()
        self._writer = None
        os.replace(self.partial, self.path)
        w, h = self._size or (0, 0)
        return [f"video: {self.path} ({self.frames} frames, {w}x{h}, {self.view})"]


def expected_size(view: str, width: int, height: int) -> tuple[int, int]:
    return view_size(view, width, height)
