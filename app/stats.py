"""Per-frame timing records and the end-of-run summary (p50/p95/p99 per stage, FPS, drops,
bad frames counted by the kind of reason). Headless and the window print the same summary."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from sgnet.frames import SEGMENT_STAGES


@dataclass
class FrameRecord:
    """Everything measured about one frame taken from the source; times in milliseconds.

    capture_wait: the inference loop waiting for this frame; stages: Segmentation.timings;
    render / sink: drawing the views and writing the sinks; e2e: from the frame's arrival
    on the host to the end of its sinks; age: host wall clock minus the device timestamp at
    the same moment (only for sources whose timestamps are system time); queue_drops: frames
    dropped so far (live sources); bad: why the frame was not segmented ("" if it was);
    bad_kind: what the summary counts it under ("" = derived from `bad`, `reason_kind`);
    note: a warning about the input first seen in this frame (wrong depth units), "" otherwise;
    keyframe: video mode: whether the network ran on this frame (True) or an earlier keyframe's
    result was carried to it (False); None for frames not segmented.
    """

    index: int
    device_ts_ms: float
    capture_wait_ms: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    render_ms: float = 0.0
    sink_ms: float = 0.0
    e2e_ms: float | None = None
    age_ms: float | None = None
    queue_drops: int = 0
    bad: str = ""
    bad_kind: str = ""
    note: str = ""
    keyframe: bool | None = None

    def as_row(self, stage_names: tuple[str, ...] = SEGMENT_STAGES) -> dict[str, object]:
        row: dict[str, object] = {
            "index": self.index,
            "device_ts_ms": round(self.device_ts_ms, 3),
            "capture_wait_ms": round(self.capture_wait_ms, 3),
        }
        names = list(stage_names) + [k for k in self.stages if k not in stage_names]
        for k in names:
            v = self.stages.get(k)
            row[f"{k}_ms"] = None if v is None else round(float(v), 3)
        row["keyframe"] = None if self.keyframe is None else int(self.keyframe)
        row["render_ms"] = round(self.render_ms, 3)
        row["sink_ms"] = round(self.sink_ms, 3)
        row["e2e_ms"] = None if self.e2e_ms is None else round(self.e2e_ms, 3)
        row["age_ms"] = None if self.age_ms is None else round(self.age_ms, 3)
        row["queue_drops"] = self.queue_drops
        row["bad"] = self.bad
        row["note"] = self.note
        return row


def stage_names(records: list[FrameRecord]) -> list[str]:
    """The stages these records have, in pipeline order (`propagate` only in video mode), then any
    other stage an engine added, in the order first seen: the exit table and the window list them so."""
    seen = {k for r in records for k in r.stages}
    extra = [k for r in records for k in r.stages if k not in SEGMENT_STAGES]
    return [k for k in SEGMENT_STAGES if k in seen] + list(dict.fromkeys(extra))


def percentiles(values: list[float], qs: tuple[float, ...] = (50, 95, 99)) -> list[float]:
    if not values:
        return [float("nan")] * len(qs)
    return [float(v) for v in np.percentile(np.asarray(values, np.float64), qs)]


NO_FPS = "\u2014"  # an em dash: the rate of fewer than two finished frames is undefined
SHOWN_KINDS = 5  # the bad-frame summary names this many kinds of reason, then "N other"
_PATH = re.compile(r"^\S*[/\\]\S*\.[A-Za-z0-9]{1,5}:?$")  # "Depth/0007.png:" - a file named in a reason
_FILE = re.compile(r"^[^\s/\\]+\.[A-Za-z][A-Za-z0-9]{1,4}:?$")  # "0007.png", "room.db3:"
_DETAIL = re.compile(r"[;(,\[:]")  # where the details (sizes, causes) begin


def fps_text(fps: float, digits: int = 1) -> str:
    """`fps` for people: "—" when it is not a number (a run of fewer than two frames)."""
    return f"{fps:.{digits}f}" if math.isfinite(fps) else NO_FPS


def reason_kind(reason: str) -> str:
    """The kind of a bad frame's reason, for counting: file names become their folder
    ("Depth/0007.png: permission denied" -> "Depth/ permission denied"), numbers and details
    are dropped ("wrong size 12x10, expected 32x24" -> "wrong size"), a one-word label is
    kept ("segmenter: frame rejected"), a frame number before the reason is not."""
    folder, words = "", []
    for i, token in enumerate(reason.split()):
        if _PATH.match(token) and i == 0:
            folder = token.rstrip(":").replace("\\", "/").rsplit("/", 1)[0] + "/"
        elif not (_PATH.match(token) or _FILE.match(token)):
            words.append(token)
    text = " ".join(words)
    if folder and text.startswith(("is ", "has ")):
        text = text.split(" ", 1)[1]
    head, sep, rest = text.partition(":")
    label = _no_numbers(head)
    if sep and rest.strip() and len(label.split()) <= 1:
        text = _no_numbers(_DETAIL.split(rest, maxsplit=1)[0])
        if label and label == head.strip():  # "segmenter: ..." - not "frame 12: ..."
            text = f"{label}: {text}" if text else label
    else:
        text = _no_numbers(_DETAIL.split(text, maxsplit=1)[0])
    text = " ".join(text.split()[:8])
    return f"{folder} {text}".strip() or "bad frame"


def _no_numbers(text: str) -> str:
    return " ".join(t for t in text.split() if not any(c.isdigit() for c in t))


@dataclass
class RunStats:
    """Accumulates records; `summary()` gives the numbers of the exit table."""

    records: list[FrameRecord] = field(default_factory=list)
    first_done_s: float | None = None  # monotonic time the first frame was finished
    last_done_s: float | None = None  # ... and the last one
    drops: int = 0
    bad_kinds: Counter = field(default_factory=Counter)  # kind of reason -> bad frames, in order of first sight
    warnings: list[str] = field(default_factory=list)  # about the input (FrameRecord.note), for the summary

    def add(self, rec: FrameRecord, now_s: float) -> None:
        if self.first_done_s is None:
            self.first_done_s = now_s
        self.last_done_s = now_s
        self.records.append(rec)
        self.drops = rec.queue_drops
        if rec.bad:
            self.bad_kinds[rec.bad_kind or reason_kind(rec.bad)] += 1
        if rec.note:
            self.warnings.append(rec.note)

    @property
    def frames(self) -> int:
        return len(self.records)

    @property
    def bad_frames(self) -> int:
        return sum(1 for r in self.records if r.bad)

    def bad_summary(self) -> str:
        """"bad frames: 3 stale color, 2 Depth/ truncated" (largest first); "" without bad frames."""
        kinds = sorted(self.bad_kinds.items(), key=lambda kv: -kv[1])  # stable: ties keep first-seen order
        if not kinds:
            return ""
        parts = [f"{n} {kind}" for kind, n in kinds[:SHOWN_KINDS]]
        other = sum(n for _, n in kinds[SHOWN_KINDS:])
        if other:
            parts.append(f"{other} other ({len(kinds) - SHOWN_KINDS} more kinds)")
        return "bad frames: " + ", ".join(parts)

    def keyframe_summary(self) -> str:
        """"keyframes: 34 of 100 segmented frames (34%)" in video mode; "" when every frame ran the network."""
        flags = [r.keyframe for r in self.records if r.keyframe is not None]
        if not flags or all(flags):
            return ""
        n = sum(flags)
        return f"keyframes: {n} of {len(flags)} segmented frames ({100.0 * n / len(flags):.0f}%)"

    @property
    def good_frames(self) -> int:
        return self.frames - self.bad_frames

    @property
    def fps(self) -> float:
        """Frames finished per second, from the first finished frame to the last (steady state)."""
        if self.first_done_s is None or self.last_done_s is None or self.last_done_s <= self.first_done_s:
            return float("nan")
        return (self.frames - 1) / (self.last_done_s - self.first_done_s)

    def stage_table(self) -> list[tuple[str, list[float]]]:
        """(stage, [p50, p95, p99, mean]) over the segmented (good) frames."""
        good = [r for r in self.records if not r.bad]
        rows: list[tuple[str, list[float]]] = []

        def add(name: str, vals: list[float]) -> None:
            if vals:
                rows.append((name, percentiles(vals) + [float(np.mean(vals))]))

        add("capture wait", [r.capture_wait_ms for r in good])
        for k in stage_names(good):
            add(k, [r.stages[k] for r in good if k in r.stages])
        add("render", [r.render_ms for r in good])
        add("sink", [r.sink_ms for r in good])
        add("end to end", [r.e2e_ms for r in good if r.e2e_ms is not None])
        add("frame age", [r.age_ms for r in good if r.age_ms is not None])
        return rows


def print_summary(stats: RunStats, title: str, file=None) -> None:  # noqa: ANN001 - a text stream
    """The exit table (rich), to stdout unless `file` is given."""
    from rich.console import Console
    from rich.table import Table

    table = Table()
    table.add_column("stage (ms)")
    for col in ("p50", "p95", "p99", "mean"):
        table.add_column(col, justify="right")
    for name, vals in stats.stage_table():
        table.add_row(name, *(f"{v:.1f}" for v in vals))
    console = Console(file=file, width=100)
    console.print(title, highlight=False, soft_wrap=True)  # above the table, never wrapped to its width
    console.print(table)
    console.print(
        f"frames {stats.frames} · segmented {stats.good_frames} · bad {stats.bad_frames} · "
        f"dropped {stats.drops} · {fps_text(stats.fps)} FPS end to end",
        highlight=False,
    )
    if stats.keyframe_summary():
        console.print(stats.keyframe_summary(), highlight=False, soft_wrap=True)
    if stats.bad_kinds:
        console.print(stats.bad_summary(), highlight=False, soft_wrap=True)
    for warning in stats.warnings:
        console.print(f"warning: {warning}", highlight=False, soft_wrap=True)
