"""Rolling rates and medians for the HUD, fed from the pipeline threads, read by the window.

Kept in the threads that produce the events (capture, inference), so frames the window
never paints still count; the window only reads `snapshot()`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from app.stats import FrameRecord, stage_names

WINDOW_S = 3.0  # rates over the last three seconds
MEDIAN_OF = 30  # stage latencies: median of the last 30 segmented frames
HISTORY = 150  # frames kept for the latency plot


class RateMeter:
    """Events per second, from the most recent events (thread-safe).

    Over the events of the last `window_s` seconds, or the last `min_events` if there were
    fewer (slow models), and never more than 1 / (time since the last event), so the rate
    falls towards zero while nothing happens (paused)."""

    def __init__(self, window_s: float = WINDOW_S, min_events: int = 3, keep_s: float = 30.0) -> None:
        self.window_s = window_s
        self.min_events = min_events
        self.keep_s = keep_s
        self._times: deque[float] = deque(maxlen=1000)
        self._lock = threading.Lock()
        self.count = 0

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times.append(now)
            self.count += 1
            while self._times and now - self._times[0] > self.keep_s:
                self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        """Events/s; 0 before two events."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = [t for t in self._times if now - t <= self.keep_s]
        recent = [t for t in times if now - t <= self.window_s]
        if len(recent) < self.min_events:
            recent = times[-self.min_events:]
        if len(recent) < 2 or recent[-1] <= recent[0]:
            return 0.0
        rate = (len(recent) - 1) / (recent[-1] - recent[0])
        idle = now - recent[-1]
        return min(rate, 1.0 / idle) if idle > 0 else rate


@dataclass(frozen=True)
class HudSnapshot:
    capture_fps: float
    inference_fps: float
    stages_ms: dict[str, float] = field(default_factory=dict)  # median per stage, in pipeline order
    e2e_ms: float | None = None
    frames: int = 0
    bad_frames: int = 0
    queue_drops: int = 0
    keyframe_share: float | None = None  # video mode: share of recent frames the network ran on


class PipelineMeters:
    """What the HUD shows about the pipeline; `on_capture` from the capture thread,
    `on_record` from the inference loop."""

    def __init__(self) -> None:
        self.capture = RateMeter()
        self.inference = RateMeter()
        self._recent: deque[FrameRecord] = deque(maxlen=HISTORY)
        self._lock = threading.Lock()
        self.frames = 0
        self.bad_frames = 0
        self.queue_drops = 0

    def on_capture(self) -> None:
        self.capture.tick()

    def on_record(self, rec: FrameRecord) -> None:
        self.inference.tick()
        with self._lock:
            self.frames += 1
            self.queue_drops = rec.queue_drops
            if rec.bad:
                self.bad_frames += 1
            else:
                self._recent.append(rec)

    def history(self) -> list[FrameRecord]:
        """The last `HISTORY` segmented frames, oldest first."""
        with self._lock:
            return list(self._recent)

    def snapshot(self) -> HudSnapshot:
        with self._lock:
            recs = list(self._recent)[-MEDIAN_OF:]
            frames, bad, drops = self.frames, self.bad_frames, self.queue_drops
        stages: dict[str, float] = {}
        if recs:
            stages["capture wait"] = _median([r.capture_wait_ms for r in recs])
            for k in stage_names(recs):
                vals = [r.stages[k] for r in recs if k in r.stages]
                if vals:
                    stages[k] = _median(vals)
            stages["render + sinks"] = _median([r.render_ms + r.sink_ms for r in recs])
        e2e = [r.e2e_ms for r in recs if r.e2e_ms is not None]
        keys = [r.keyframe for r in recs if r.keyframe is not None]
        return HudSnapshot(
            keyframe_share=sum(keys) / len(keys) if keys and not all(keys) else None,
            capture_fps=self.capture.rate(),
            inference_fps=self.inference.rate(),
            stages_ms=stages,
            e2e_ms=_median(e2e) if e2e else None,
            frames=frames,
            bad_frames=bad,
            queue_drops=drops,
        )


def _median(values: list[float]) -> float:
    return float(np.median(np.asarray(values, np.float64)))
