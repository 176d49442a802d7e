"""The threaded runtime: capture thread -> bounded queue -> inference loop -> sinks.

- The capture thread reads the source. For a live source the queue keeps only the newest
  frame and counts the ones it throws away (a camera is never slowed down by inference);
  for recordings, folders and the demo it blocks instead, so every frame is processed.
- The inference loop (the calling thread) takes a frame, segments it, renders the views
  the sinks need once, feeds the sinks, and records the frame's timings.
- One shutdown path for every ending (end of stream, the frame limit, `stop()` from a
  signal handler or a window, an error in either thread): stop the capture thread, stop the
  source, finalize every sink, flush the log. Errors are re-raised after that, so partial
  runs leave valid files.
- Bad frames (`BadFrame` from the source, a frame of the wrong size, all-zero depth, a
  frame the segmenter rejects with `FrameRejectedError`) are counted and logged with their
  reason, never fatal; the first few reasons are said as they happen (`progress`), the rest
  are counted by kind in the summary. Those with a usable image still reach the sinks,
  unlabeled (255), so a video keeps its timing. Any other error from the segmenter (a user
  error such as weights that do not fit, or a bug) ends the run through the same shutdown
  path, so it is reported once, not per frame.
- What comes in is checked, not trusted (`app.depth_check`): the first frame whose depth looks
  like the wrong units (median far outside 0.2-15 m, stuck at the 16-bit limit) or is mostly
  missing gets one warning per run naming the likely fix (`--depth-scale ...`); it is said as it
  happens, kept in the latency log's `note` column of that frame and repeated in the summary.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from app.depth_check import DepthWatch
from app.sinks.base import OutputError, Rendered, Sink
from app.sinks.latency_log import LatencyLog
from app.sources.base import BadFrame, Source
from app.stats import FrameRecord, RunStats, fps_text
from sgnet.errors import FrameRejectedError
from sgnet.frames import NO_PREDICTION, RGBDFrame, Segmentation, SegmenterLike

LIVE_QUEUE = 1  # newest frame only: the least latency
LOSSLESS_QUEUE = 2  # a little slack against jitter; the capture thread blocks when full
JOIN_TIMEOUT_S = 10.0
SAY_BAD_FRAMES = 3  # the first bad frames' reasons are said as they happen; the summary counts the rest


class FrameGate(Protocol):
    """Lets a window pause, single-step and seek: asked before each frame is processed."""

    def turn(self, frame: RGBDFrame, timeout: float) -> str:
        """"go" (process it), "skip" (drop it unrecorded, e.g. read before a seek) or "wait"
        (paused: ask again after `timeout` seconds)."""
        ...


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


@dataclass
class RunResult:
    stats: RunStats
    reason: str  # "end of stream", "frame limit", "stopped", "error"
    sink_lines: list[str] = field(default_factory=list)
    error: BaseException | None = None


ALL_ZERO = "all-zero depth"
# sources whose depth units the user sets (--depth-scale); a camera or recording reports its own
SCALE_OPTION_KINDS = ("folder", "demo")


def check_frame(frame: RGBDFrame, width: int, height: int) -> tuple[str, bool]:
    """(why a well-formed frame cannot be segmented or "" if it can, whether it may still go
    to the sinks). A frame of another size than the source announced cannot (a video has one
    size); an all-zero depth map can, unlabeled."""
    if (frame.width, frame.height) != (width, height):
        return f"wrong size {frame.width}x{frame.height}, expected {width}x{height}", False
    if not frame.depth.any():
        return ALL_ZERO, True
    return "", True


class FrameQueue:
    """A bounded queue: `newest_wins` drops the oldest item when full (and counts it), otherwise
    `put` blocks until there is room or `stop` is set."""

    def __init__(self, maxsize: int, newest_wins: bool, stop: threading.Event) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=maxsize)
        self.newest_wins = newest_wins
        self.drops = 0
        self._stop = stop
        self._lock = threading.Lock()

    def put(self, item: object, force: bool = False) -> bool:
        """Enqueue; False if the pipeline stopped first. `force` (end marker) never gives up or drops."""
        if self.newest_wins and not force:
            with self._lock:
                while True:
                    try:
                        self._q.put_nowait(item)
                        return True
                    except queue.Full:
                        try:
                            self._q.get_nowait()
                            self.drops += 1
                        except queue.Empty:
                            pass
        while force or not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.05)
                return True
            except queue.Full:
                if force and self._stop.is_set():
                    self.drain()
        return False

    def get(self, timeout: float) -> object:
        return self._q.get(timeout=timeout)

    def drain(self) -> None:
        try:
            while True:
                self._q.get_nowait()
        except queue.Empty:
            pass


def _first_error(error: BaseException | None, new: Exception, lines: list[str]) -> BaseException:
    """The run's error stays the first one; a later failure while closing (another output that
    could not be finalized on the same full disk) becomes a closing line, so it is never lost."""
    if error is None:
        return new
    lines.append(str(new) if isinstance(new, OutputError) else f"{type(new).__name__}: {new}")
    return error


class Pipeline:
    """Run `source` through `segmenter` into `sinks`; `run()` returns when the stream ends."""

    def __init__(
        self,
        source: Source,
        segmenter: SegmenterLike,
        sinks: Sequence[Sink] = (),
        *,
        log: LatencyLog | None = None,
        max_frames: int | None = None,
        alpha: float = 0.5,
        on_record: Callable[[FrameRecord, Segmentation | None, Rendered | None], None] | None = None,
        progress_every_s: float | None = None,
        progress: Callable[[str], None] | None = None,
        gate: FrameGate | None = None,
    ) -> None:
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        self.source = source
        self.segmenter = segmenter
        self.sinks = list(sinks)
        self.log = log
        self.max_frames = max_frames
        self.alpha = alpha
        self.on_record = on_record
        self.progress_every_s = progress_every_s
        self.progress = progress
        self.gate = gate
        self.stats = RunStats()
        self.depth_watch = DepthWatch(source.info.kind in SCALE_OPTION_KINDS)
        self._stop = threading.Event()
        self._stop_reason = "stopped"

    def stop(self, reason: str = "stopped") -> None:
        """Ask the run to end after the current frame (thread- and signal-handler-safe)."""
        if not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _capture(self, q: FrameQueue) -> None:
        error: BaseException | None = None
        try:
            for item in self.source:
                if self._stop.is_set() or not q.put(item):
                    break
        except BaseException as e:  # handed to the inference loop, which re-raises it after cleanup
            error = e
        finally:
            q.put(_End(error), force=True)

    def run(self) -> RunResult:
        info = self.source.info
        q = FrameQueue(LIVE_QUEUE if info.live else LOSSLESS_QUEUE, newest_wins=info.live, stop=self._stop)
        error: BaseException | None = None
        reason = "end of stream"
        lines: list[str] = []
        thread: threading.Thread | None = None
        try:
            for sink in self.sinks:
                sink.open(info.width, info.height, info.fps)
            self.source.__enter__()
            thread = threading.Thread(target=self._capture, args=(q,), name="sgnet-capture", daemon=True)
            thread.start()
            reason = self._loop(q)
        except BaseException as e:
            error, reason = e, "error"
        finally:
            self._stop.set()
            q.drain()
            if thread is not None:
                thread.join(JOIN_TIMEOUT_S)
            try:
                self.source.close()
            except Exception as e:  # noqa: BLE001 - closing must not hide the run's own error
                error = _first_error(error, e, lines)
            for sink in self.sinks:
                try:
                    lines += sink.close()
                except Exception as e:  # noqa: BLE001 - finalize the other sinks anyway
                    error = _first_error(error, e, lines)
            if self.log is not None:
                lines += self.log.close()
        if isinstance(error, KeyboardInterrupt):
            raise error
        return RunResult(self.stats, reason if error is None else "error", lines, error)

    def _loop(self, q: FrameQueue) -> str:
        next_progress = time.monotonic() + (self.progress_every_s or 0)
        while True:
            if self._stop.is_set():
                return self._stop_reason
            t_wait = time.perf_counter()
            try:
                item = q.get(timeout=0.05)
            except queue.Empty:
                continue
            waited_ms = (time.perf_counter() - t_wait) * 1000.0
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return "end of stream"
            if self.gate is not None and isinstance(item, RGBDFrame):
                verdict = self._ask_gate(item)
                if verdict == "stop":
                    return self._stop_reason
                if verdict == "skip":
                    continue
            self._process(item, waited_ms, q.drops)
            if self.max_frames is not None and self.stats.frames >= self.max_frames:
                return "frame limit"
            if self.progress is not None and self.progress_every_s and time.monotonic() >= next_progress:
                next_progress = time.monotonic() + self.progress_every_s
                self.progress(self._progress_line())

    def _ask_gate(self, frame: RGBDFrame) -> str:
        """The gate's verdict for `frame`, waiting while it says "wait"; "stop" if the run is stopped meanwhile."""
        assert self.gate is not None
        while True:
            verdict = self.gate.turn(frame, 0.05)
            if verdict in ("go", "skip"):
                return verdict
            if self._stop.is_set():
                return "stop"

    def _progress_line(self) -> str:
        s = self.stats
        e2e = [r.e2e_ms for r in s.records[-100:] if r.e2e_ms is not None and not r.bad]
        p50 = f"{np.median(e2e):.0f} ms" if e2e else "-"
        return f"{s.frames} frames · {fps_text(s.fps)} FPS · latency p50 {p50} · dropped {s.drops} · bad {s.bad_frames}"

    def _process(self, item: RGBDFrame | BadFrame, waited_ms: float, drops: int) -> None:
        if isinstance(item, BadFrame):
            reason = " ".join(item.reason.split()) or "the source gave no reason"  # one line in the log
            rec = FrameRecord(item.index, item.device_ts_ms, waited_ms, queue_drops=drops, bad=reason,
                              bad_kind=item.kind)
            self._finish(rec, None, None)
            return
        frame = item
        info = self.source.info
        bad, to_sinks = check_frame(frame, info.width, info.height)
        if not to_sinks:
            rec = FrameRecord(frame.index, frame.device_ts_ms, waited_ms, queue_drops=drops, bad=bad,
                              bad_kind="wrong size")
            self._finish(rec, None, None)
            return
        note = "" if bad else self.depth_watch.see(frame.depth, frame.depth_scale, frame.index)
        seg: Segmentation | None = None
        if not bad:
            try:
                seg = self.segmenter.segment(frame)
            except FrameRejectedError as e:  # the segmenter rejected this one frame: count it, keep going
                bad = " ".join(f"segmenter: {e}".split())
        if seg is None:
            seg = Segmentation(frame, np.full(frame.depth.shape, NO_PREDICTION, np.uint8), {})
        rendered = Rendered(seg, self.alpha)
        t0 = time.perf_counter()
        for sink in self.sinks:
            sink.write(rendered)
        sinks_ms = (time.perf_counter() - t0) * 1000.0
        done_ns = time.monotonic_ns()
        rec = FrameRecord(
            index=frame.index,
            device_ts_ms=frame.device_ts_ms,
            capture_wait_ms=waited_ms,
            stages=dict(seg.timings),
            render_ms=rendered.ms,
            sink_ms=max(sinks_ms - rendered.ms, 0.0),
            e2e_ms=(done_ns - frame.arrived_ns) / 1e6 if frame.arrived_ns else None,
            age_ms=time.time() * 1000.0 - frame.device_ts_ms if info.clock == "system" else None,
            queue_drops=drops,
            bad=bad,
            bad_kind=ALL_ZERO if bad == ALL_ZERO else "",
            note=note,
            keyframe=None if bad else seg.keyframe,
        )
        self._finish(rec, seg, rendered)

    def _finish(self, rec: FrameRecord, seg: Segmentation | None, rendered: Rendered | None) -> None:
        self.stats.add(rec, time.monotonic())
        if rec.note and self.progress is not None:
            self.progress(f"warning: {rec.note}")
        if rec.bad and self.progress is not None:
            self._say_bad(rec)
        if self.log is not None:
            self.log.write(rec)
        if self.on_record is not None:
            self.on_record(rec, seg, rendered)

    def _say_bad(self, rec: FrameRecord) -> None:
        assert self.progress is not None
        n = sum(self.stats.bad_kinds.values())
        if n <= SAY_BAD_FRAMES:
            more = " (further bad frames are counted in the summary)" if n == SAY_BAD_FRAMES else ""
            self.progress(f"bad frame {rec.index}: {rec.bad}{more}")
