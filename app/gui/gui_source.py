"""The window's view of a source: counts captured frames for the HUD and makes files seekable.

- demo and folders are read by index (`DemoSource.frame`, `FolderSource.read`); the slider
  counts frames. A folder waits at its last frame instead of ending the run.
- recordings stream through librealsense and seek on its timeline (`RecordingSource.seek_ms`);
  the slider counts milliseconds (playback position when the frame was read). At the end
  of the file the source waits for a seek too.
- a live camera streams as headless; it cannot seek.

Seeks are applied here, in the capture thread (the thread that reads the source), between
two frames; `PlaybackControl` makes the pipeline skip frames read before the seek.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from app.gui.control import PlaybackControl
from app.gui.rates import PipelineMeters
from app.sources.base import Source, SourceInfo, SourceItem
from sgnet.frames import RGBDFrame

WAIT_S = 0.05
POSITIONS_KEPT = 64  # recordings: slider positions of the most recent frames (the shown one is among them)


@dataclass(frozen=True)
class Timeline:
    """How the slider maps onto a source: `length` positions of `unit`; `step` = one frame."""

    length: int
    unit: str  # "frame" or "ms"
    step: int
    loops: bool = False  # the demo's path starts over instead of ending


def timeline_of(source: Source) -> Timeline | None:
    from app.sources.demo import DemoSource
    from app.sources.folder import FolderSource
    from app.sources.recording import RecordingSource

    if isinstance(source, DemoSource):
        return Timeline(source.loop, "frame", 1, loops=True)
    if isinstance(source, FolderSource):
        return Timeline(len(source.pairs), "frame", 1)
    if isinstance(source, RecordingSource):
        fps = source.info.fps or 30.0
        return Timeline(max(int(source.duration_ms), 1), "ms", max(int(round(1000.0 / fps)), 1))
    return None


class GuiSource(Source):
    """Wraps `inner`; the pipeline sees the same `info`."""

    def __init__(self, inner: Source, control: PlaybackControl, meters: PipelineMeters,
                 stopping: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self.inner = inner
        self.control = control
        self.meters = meters
        self.stopping = stopping  # set once the pipeline exists: ends the waits at the end of a file
        self.timeline = timeline_of(inner)
        self._positions: dict[int, int] = {}  # recordings: id(frame) -> ms on the recording's timeline

    @property
    def info(self) -> SourceInfo:
        return self.inner.info

    @property
    def seekable(self) -> bool:
        return self.timeline is not None

    def position_of(self, frame: RGBDFrame) -> int | None:
        """Where `frame` sits on the slider (frames or ms), None if the source cannot seek."""
        t = self.timeline
        if t is None:
            return None
        if t.unit == "frame":
            return frame.index % t.length
        return self._positions.get(id(frame))

    def end_report(self) -> list[str]:
        return self.inner.end_report()

    def _start(self) -> None:
        self.inner.__enter__()

    def _stop(self) -> None:
        self.inner.close()

    def _running(self) -> bool:
        return self._started and not self.stopping()

    def _emit(self, item: SourceItem) -> SourceItem:
        self.control.handed_out(item)
        self.meters.on_capture()
        return item

    def _frames(self) -> Iterator[SourceItem]:
        if self.timeline is None:
            for item in self.inner:
                self.meters.on_capture()
                yield item
        elif self.timeline.unit == "frame":
            yield from self._indexed(self.timeline)
        else:
            yield from self._recording()

    def _wait_at_end(self) -> None:
        self.control.at_end = True
        while self._running() and not self.control.wait_seek(WAIT_S):
            pass
        self.control.at_end = False

    def _indexed(self, t: Timeline) -> Iterator[SourceItem]:
        from app.sources.demo import DemoSource

        inner = self.inner
        read = inner.frame if isinstance(inner, DemoSource) else inner.read  # type: ignore[attr-defined]
        info = inner.info
        period = 1.0 / info.fps if info.live and info.fps > 0 else 0.0  # --realtime: paced like a camera
        index, next_due = 0, time.monotonic()
        while self._running():
            target = self.control.take_seek()
            if target is not None:
                index, next_due = target, time.monotonic()
            if index >= t.length and not t.loops:
                self._wait_at_end()
                continue
            if period:
                delay = next_due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_due = max(next_due + period, time.monotonic() - period)
            item = read(index)
            if self.control.seek_pending:  # asked for while reading: this frame is from before the seek
                continue
            yield self._emit(item)
            index += 1

    def _recording(self) -> Iterator[SourceItem]:
        rec = self.inner
        frames: Iterator[SourceItem] | None = iter(rec)
        while self._running():
            target = self.control.take_seek()
            if target is not None:
                rec.seek_ms(target)  # type: ignore[attr-defined]
                if frames is None:  # the file had ended: playback restarted, iterate afresh
                    frames = iter(rec)
            if frames is None:
                self._wait_at_end()
                continue
            item = next(frames, None)
            if item is None:
                frames = None
                continue
            if self.control.seek_pending:  # asked for while reading: this frame is from before the seek
                continue
            self._positions[id(item)] = int(round(rec.position_ms))  # type: ignore[attr-defined]
            if len(self._positions) > POSITIONS_KEPT:
                del self._positions[next(iter(self._positions))]
            yield self._emit(item)
