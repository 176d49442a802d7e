"""A one-slot, newest-wins hand-over between threads.

Producers (the inference loop, the HHA and point-cloud workers) never wait for a consumer:
`put` replaces an item nobody took yet and counts it as dropped. That is how a slow paint
drops display frames instead of slowing inference down.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._full = False
        self._closed = False
        self.dropped = 0  # items replaced before anyone took them
        self.delivered = 0

    def put(self, item: T) -> bool:
        """Store `item`; True if it replaced one that was never taken."""
        with self._cond:
            replaced = self._full
            if replaced:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify_all()
            return replaced

    def take(self) -> T | None:
        """The newest item, or None if there is none (never blocks)."""
        with self._cond:
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            self.delivered += 1
            return item

    def wait(self, timeout: float | None = None) -> T | None:
        """Block until an item arrives (then take it), the slot is closed, or `timeout` passes."""
        with self._cond:
            self._cond.wait_for(lambda: self._full or self._closed, timeout)
        return self.take()

    def close(self) -> None:
        """Wake every waiter for good (worker shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
