"""Start/stop video recording from the window, written by the app's own `VideoSink`.

`RecorderSink` sits in the pipeline's sink list for the whole run and forwards results to a
`VideoSink` only while a recording is on, so frames are encoded in the inference loop like
`--save-video` (never on the GUI thread) and each recording is a complete, playable mp4.
A write that fails while recording stops the run like `--save-video`; a recording that cannot
be finalized when `R` stops it is kept in `failures` (the run then ends with the
output-error status) and its line says what is in the file.
"""

from __future__ import annotations

import threading
from pathlib import Path

from app.sinks.base import OutputError, Rendered, Sink
from app.sinks.video import VideoSink


class RecorderSink(Sink):
    name = "recorder"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._video: VideoSink | None = None
        self._size = (0, 0)
        self._fps = 30.0
        self.lines: list[str] = []  # one line per finished recording
        self.failures: list[str] = []  # recordings that could not be finalized

    def open(self, width: int, height: int, fps: float) -> None:
        self._size, self._fps = (width, height), fps

    @property
    def recording(self) -> Path | None:
        with self._lock:
            return None if self._video is None else self._video.path

    @property
    def frames(self) -> int:
        with self._lock:
            return 0 if self._video is None else self._video.frames

    def start(self, path: str | Path, view: str = "overlay") -> None:
        """Record from the next result on (stops a recording that is on first)."""
        video = VideoSink(Path(path), view)
        video.open(*self._size, self._fps)
        with self._lock:
            old, self._video = self._video, video
        if old is not None:
            self.lines += self._finalize(old)

    def stop(self) -> list[str]:
        """Finalize the recording that is on; returns its line (empty if none was on)."""
        with self._lock:
            video, self._video = self._video, None
        if video is None:
            return []
        lines = self._finalize(video)
        self.lines += lines
        return lines

    def _finalize(self, video: VideoSink) -> list[str]:
        try:
            return video.close()
        except OutputError as e:
            self.failures.append(str(e))
            return video.close()  # after a failure: the line that says what the file holds

    def write(self, rendered: Rendered) -> None:
        with self._lock:
            if self._video is not None:
                self._video.write(rendered)

    def close(self) -> list[str]:
        self.stop()
        return list(self.lines)
