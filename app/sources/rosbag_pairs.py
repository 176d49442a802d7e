"""Color and depth messages -> pairs by header stamp, as the bag streams them.

realsense-ros stamps a synced frameset's color and depth alike; unsynced streams (its default)
differ by up to half a frame. Each color message is paired with the nearest-stamped depth
message within `tolerance_ns`; a message left without a partner is an unpaired event (the
source counts it as a bad frame, with the reason). A color message is decided only once depth
has been seen past its stamp + tolerance (or the bag ended), so a closer depth message that is
logged a little later is not missed (nor waited for longer than `MAX_WAIT_NS`: a depth stream that
stopped does not hold the color messages in memory). Events come in color stamp order; every message fed comes
out exactly once.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

STREAMS = ("color", "depth")
MAX_WAIT_NS = 2_000_000_000  # a color message waits this long (bag time) for depth, then is unpaired


@dataclass(frozen=True)
class Pending:
    stamp_ns: int
    msg: Any = field(compare=False)


@dataclass(frozen=True)
class Event:
    """A pair (`color` and `depth` set) or one unpaired message (the other None)."""

    color: Pending | None
    depth: Pending | None

    @property
    def stamp_ns(self) -> int:
        return (self.color or self.depth).stamp_ns  # type: ignore[union-attr]


class StampPairer:
    def __init__(self, tolerance_ns: int) -> None:
        self.tolerance_ns = int(tolerance_ns)
        self._queues: dict[str, list[Pending]] = {s: [] for s in STREAMS}
        self._seen: dict[str, int | None] = dict.fromkeys(STREAMS)

    def feed(self, stream: str, stamp_ns: int, msg: Any) -> list[Event]:
        """Take one message; returns the events it settled."""
        q = self._queues[stream]
        item = Pending(int(stamp_ns), msg)
        bisect.insort(q, item, key=lambda p: p.stamp_ns)
        last = self._seen[stream]
        self._seen[stream] = item.stamp_ns if last is None else max(last, item.stamp_ns)
        return self._drain(final=False)

    def finish(self) -> list[Event]:
        """The bag ended: settle everything left."""
        return self._drain(final=True)

    def _drain(self, final: bool) -> list[Event]:
        out: list[Event] = []
        colors, depths = self._queues["color"], self._queues["depth"]
        tol = self.tolerance_ns
        while colors:
            c = colors[0]
            seen = self._seen["depth"]
            waited = (self._seen["color"] or c.stamp_ns) - c.stamp_ns
            if not final and (seen is None or seen < c.stamp_ns + tol) and waited < MAX_WAIT_NS:
                break
            while depths and depths[0].stamp_ns < c.stamp_ns - tol:
                out.append(Event(None, depths.pop(0)))
            near = [i for i, d in enumerate(depths) if abs(d.stamp_ns - c.stamp_ns) <= tol]
            colors.pop(0)
            if not near:
                out.append(Event(c, None))
                continue
            best = min(near, key=lambda i: (abs(depths[i].stamp_ns - c.stamp_ns), i))
            for _ in range(best):  # farther from this color than the best, and later colors are farther still
                out.append(Event(None, depths.pop(0)))
            out.append(Event(c, depths.pop(0)))
        if final:
            out.extend(Event(None, d) for d in depths)
            depths.clear()
        elif colors and depths:  # depth older than any color still to come can never pair
            horizon = colors[0].stamp_ns - tol
            while depths and depths[0].stamp_ns < horizon:
                out.append(Event(None, depths.pop(0)))
        elif depths and self._seen["color"] is not None:
            horizon = self._seen["color"] - tol  # colors arrive in stamp order, give or take the tolerance
            while depths and depths[0].stamp_ns < horizon - tol:
                out.append(Event(None, depths.pop(0)))
        return out
