"""Pause, single-step and seek, shared by the window (GUI thread) and the pipeline threads.

The inference loop asks `turn(frame)` before it processes each frame: running, it may;
paused, it waits until a step token or a resume arrives. A seek tells the source where to
read next and marks every frame the source already handed out as stale, so the loop skips
them instead of showing a frame from before the seek.
"""

from __future__ import annotations

import threading

IN_FLIGHT_MAX = 8  # frames between the source and the model: queue (<= 2) + one in each thread's hand


class PlaybackControl:
    def __init__(self, paused: bool = False) -> None:
        self._cond = threading.Condition()
        self._paused = paused
        self._steps = 0
        self._closed = False
        self._seek_to: int | None = None
        self._handed_out: dict[int, None] = {}  # ids of frames yielded since the last seek, oldest first
        self._stale: set[int] = set()
        self.at_end = False  # the source reached the end of its file and waits for a seek

    # -- GUI side ---------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        with self._cond:
            self._paused = paused
            self._steps = 0
            self._cond.notify_all()

    def toggle_pause(self) -> bool:
        """Flip pause; returns the new state."""
        self.set_paused(not self._paused)
        return self._paused

    def step(self) -> None:
        """Let exactly one more frame through (pauses first if running)."""
        with self._cond:
            self._paused = True
            self._steps += 1
            self._cond.notify_all()

    def seek(self, index: int) -> None:
        """Read frame `index` next; paused, that one frame is processed and shown."""
        with self._cond:
            self._seek_to = max(int(index), 0)
            self._stale |= set(self._handed_out)
            self._handed_out = {}
            self.at_end = False
            if self._paused:
                self._steps = 1
            self._cond.notify_all()

    def close(self) -> None:
        """Release every waiter for good (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- pipeline side ----------------------------------------------------------------------
    def turn(self, frame: object, timeout: float) -> str:
        """Inference loop, before processing `frame`: "go", "skip" (handed out before the last
        seek) or "wait" (paused; ask again after `timeout`)."""
        key = id(frame)
        with self._cond:
            ready = self._cond.wait_for(
                lambda: self._closed or not self._paused or self._steps > 0 or key in self._stale, timeout
            )
            if key in self._stale:
                self._stale.discard(key)
                return "skip"
            if not ready or self._closed:  # closed = shutting down: the pipeline is stopping
                return "wait"
            if self._paused and self._steps > 0:
                self._steps -= 1
            self._handed_out.pop(key, None)
            return "go"

    def handed_out(self, frame: object) -> None:
        """Source: `frame` is about to enter the queue."""
        with self._cond:
            self._handed_out[id(frame)] = None
            if len(self._handed_out) > IN_FLIGHT_MAX:  # a newest-wins queue dropped the oldest: forget it
                del self._handed_out[next(iter(self._handed_out))]

    @property
    def seek_pending(self) -> bool:
        """Source: a seek was asked for and not taken yet (a frame just read is already stale)."""
        return self._seek_to is not None

    def take_seek(self) -> int | None:
        """Source: the index to read next if a seek is pending."""
        with self._cond:
            target, self._seek_to = self._seek_to, None
            return target

    def wait_seek(self, timeout: float) -> bool:
        """Source at its end: wait up to `timeout` for a seek; True if one is pending (take it with `take_seek`)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._closed or self._seek_to is not None, timeout) and not self._closed
