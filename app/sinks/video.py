"""MP4 video of the results (MPEG-4 Part 2 "mp4v", fragmented; see app.sinks.mp4).

Frames go to a hidden partial file next to the target with a name of its own
(`app.files.partial_path`: pid + random, so two runs writing the same target never share
one); `close` finalizes it and renames it over the target, atomically, so `NAME.mp4` is
either complete and playable or absent (a run that produced no frame writes no video), and
of two runs the last to finish wins with its own complete file.

A failed write (disk full, permissions, I/O error) stops the run with `OutputError`: the
file is cut back to its complete frames, read back, and kept under the target name if a
reader finds frames in it, else removed (the target is then left as it was); the message
and `close`'s line say which.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.files import partial_path, why_write_failed
from app.render import VIEWS, view_size
from app.sinks.base import OutputError, Rendered, Sink, counted
from app.sinks.mp4 import Mp4Writer, playable_frames, preload

VIDEO_SUFFIXES = (".mp4",)


class VideoSink(Sink):
    name = "video"

    def __init__(self, path: str | os.PathLike, view: str = "overlay") -> None:
        if view not in VIEWS:
            raise UserError(f"--video-view must be one of {', '.join(VIEWS)}, got {view!r}")
        self.path = Path(path)
        self.view = view
        self.partial: Path | None = None  # chosen when the first frame arrives
        self.frames = 0  # frames handed to the encoder
        self._mp4: Mp4Writer | None = None
        self._size: tuple[int, int] | None = None
        self._fps = 30.0
        self._failed_line: str | None = None  # close()'s line once a write failed

    def open(self, width: int, height: int, fps: float) -> None:
        self._fps = fps if fps > 0 else 30.0
        preload()

    def _start(self, img: np.ndarray) -> None:
        h, w = img.shape[:2]
        self.partial = partial_path(self.path)
        try:
            self._mp4 = Mp4Writer(self.partial, w, h, self._fps)
        except OSError as e:
            self.partial.unlink(missing_ok=True)
            self._failed_line = f"video: {self.path} not written ({why_write_failed(e)})"
            raise OutputError(f"{why_write_failed(e)}: cannot create the video {self.path}") from None
        self._size = (w, h)

    def write(self, rendered: Rendered) -> None:
        import cv2

        if self._failed_line is not None:
            return  # the run is stopping on that failure; nothing more goes into the file
        img = rendered.view(self.view)
        if self._mp4 is None:
            self._start(img)
        assert self._mp4 is not None and self._size is not None
        if (img.shape[1], img.shape[0]) != self._size:  # a source never changes size, but stay safe
            img = cv2.resize(img, self._size, interpolation=cv2.INTER_NEAREST)
        try:
            self._mp4.add(img)
        except OSError as e:
            raise self._fail(e) from None
        self.frames += 1

    def close(self) -> list[str]:
        if self._failed_line is not None:
            return [self._failed_line]
        if self._mp4 is None or self.partial is None:
            return [f"video: no frames, {self.path} not written"]
        mp4, self._mp4 = self._mp4, None
        try:
            mp4.finish()
            os.replace(self.partial, self.path)
        except OSError as e:
            self._mp4 = mp4
            raise self._fail(e) from None
        w, h = self._size or (0, 0)
        return [f"video: {self.path} ({self.frames} frames, {w}x{h}, {self.view})"]

    def _fail(self, e: OSError) -> OutputError:
        """Keep what a reader can play of the partial file (or remove it); say which."""
        why = why_write_failed(e)
        kept = 0
        if self._mp4 is not None and self.partial is not None:
            mp4, self._mp4 = self._mp4, None
            with contextlib.suppress(OSError):
                mp4.cut()
            kept = self._keep(self.partial)
        head = f"{why} writing {self.path} after {counted(self.frames, 'frame')}"
        w, h = self._size or (0, 0)
        if kept:
            what = f"{counted(kept, 'frame')}, {w}x{h}, {self.view}"
            self._failed_line = f"video: {self.path} ({what}; incomplete: {why})"
            return OutputError(f"{head}; kept the first {counted(kept, 'frame')} in {self.path}")
        self._failed_line = f"video: {self.path} not written ({why})"
        return OutputError(f"{head}; no frame could be kept, {self.path} not written")

    def _keep(self, partial: Path) -> int:
        """Rename `partial` to the target if it holds playable frames (their number), else remove it."""
        try:
            kept = playable_frames(partial) if partial.stat().st_size > 0 else 0
            if kept:
                os.replace(partial, self.path)
                return kept
        except OSError:
            pass
        partial.unlink(missing_ok=True)
        return 0


def expected_size(view: str, width: int, height: int) -> tuple[int, int]:
    return view_size(view, width, height)
