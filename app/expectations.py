"""What to expect from a run, said once at start (headless and window alike), before the
first slow frame makes the user guess:

- speed: on a CPU, the frame rate this model reaches on these frames, timed with the real
  `segment()` on synthetic frames of growing size. Said when it is below `SLOW_FPS`, with the
  ways to go faster that exist (a CUDA GPU, the light model, smaller camera frames). The
  decision is the measured cost on this machine, not a list of model names: the official
  networks on any CPU, and the light model on a weak or busy one, get the line.
- weights: the shipped demo weights know rendered rooms only; on a real camera, recording or
  image folder a line says so and how to get a model for real scenes.

The probe: one untimed run at 1/8 of the frame's size (allocator, thread pool, lazy inits:
costs the first frame would pay anyway), then 1/8 (best of two runs), 1/4, 1/2 and the full
frame, going on while the next size is predicted (time x pixel ratio) to fit `PROBE_BUDGET_S`
(a run far over its prediction is run again, the best counts). A model that
keeps up reaches the full frame, and its rate is measured (the light model: ~0.1-0.3 s in all).
One that stops early is slow by then (the last size took over ~0.2 s), and the rate is given
as an upper bound: a frame costs at least what a smaller one did. No extrapolation: from small
frames it multiplies noise (a busy CPU turned 0.1 s into 60 s), and the bound is what decides.
An official ResNet-101 stops after 1/8 or 1/4 (~0.3-1 s on a desktop CPU). Skipped on GPUs
(fast enough to say nothing), with --quiet, and for a compiled model (--compile: each probe size
would recompile it; a line says the first frames wait instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.sources.base import SourceInfo
from sgnet.frames import SegmenterLike

SLOW_FPS = 10.0  # below this a live camera is visibly behind: worth a line
PROBE_BUDGET_S = 1.0  # timed probe runs, after the warm-up
MIN_SIDE = 16  # the smallest frame side the Segmenter takes
LIGHT_MODEL = "sgnet_lite"
SMALL_FRAMES = {"realsense": (424, 240), "demo": (320, 240)}  # a smaller size each source offers


@dataclass(frozen=True)
class SpeedEstimate:
    """Time of `segment()` on the largest frame size timed, for frames of the source's size."""

    frame: tuple[int, int]  # (height, width) of the source's frames
    timed: tuple[int, int]  # the (height, width) timed last: the frame itself, or a smaller one
    ms: float  # what `timed` took
    pixel_ratio: float  # model input pixels of `frame` / of `timed` (1: measured at full size)

    @property
    def measured(self) -> bool:
        """True when the full frame size itself was timed: `fps` is the rate, else its upper bound."""
        return self.timed == self.frame

    @property
    def fps(self) -> float:
        """Frames per second: measured, or at most this (a frame costs at least what a smaller one did)."""
        return 1000.0 / self.ms if self.ms > 0 else float("inf")


@dataclass(frozen=True)
class Expectations:
    """What a run should expect; `lines` are said to the user, one each."""

    speed: SpeedEstimate | None  # None: not measured (not on a CPU)
    lines: tuple[str, ...]


def probe_sizes(height: int, width: int) -> list[tuple[int, int]]:
    """1/8, 1/4, 1/2 and the full frame (each side at least MIN_SIDE, none larger than the frame)."""
    sizes: list[tuple[int, int]] = []
    for f in (8, 4, 2, 1):
        s = (min(height, max(MIN_SIDE, round(height / f))), min(width, max(MIN_SIDE, round(width / f))))
        if s not in sizes:
            sizes.append(s)
    return sizes


def _model_pixels(segmenter: Any, size: tuple[int, int]) -> int:
    """Pixels the model runs at for a frame of `size` (light models cap their input size)."""
    model_size = getattr(segmenter, "model_size", None)
    h, w = model_size(*size) if callable(model_size) else size
    return int(h) * int(w)


def probe_speed(
    segmenter: SegmenterLike,
    height: int,
    width: int,
    budget_s: float = PROBE_BUDGET_S,
    clock: Callable[[], float] = time.perf_counter,
) -> SpeedEstimate:
    """Measure (or extrapolate) `segmenter.segment` time per frame of height x width (module doc)."""
    from sgnet.bench import synthetic_frame

    sizes = probe_sizes(height, width)
    if getattr(segmenter, "engine_name", "torch") != "torch":  # an exported engine runs one size per export:
        sizes = [(height, width)]  # time the frame size it was prepared for, export no others

    spent = 0.0

    def timed(size: tuple[int, int], predicted: float | None) -> float:
        """One run, and a second when the first took over 1.5x the prediction (or there is none
        yet): the best of the two counts, as a busy CPU only ever adds time and one stall must
        not decide."""
        nonlocal spent
        frame = synthetic_frame(*size)
        runs: list[float] = []
        while len(runs) < 2 and (not runs or predicted is None or runs[0] > 1.5 * predicted):
            t0 = clock()
            segmenter.segment(frame)
            runs.append(clock() - t0)
        spent += sum(runs)
        return min(runs)

    segmenter.segment(synthetic_frame(*sizes[0]))  # warm-up, not counted
    last, last_s = sizes[0], timed(sizes[0], None)
    for size in sizes[1:]:
        predicted = last_s * _model_pixels(segmenter, size) / _model_pixels(segmenter, last)
        if predicted > budget_s - spent:
            break
        last, last_s = size, timed(size, predicted)
    ratio = _model_pixels(segmenter, (height, width)) / _model_pixels(segmenter, last)
    return SpeedEstimate((height, width), last, 1000.0 * float(last_s), ratio)


def _rate(fps: float) -> str:
    return f"{fps:.1f}" if fps >= 1 else f"{fps:.2f}"


def _per_frame(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def speed_line(
    model_name: str,
    speed: SpeedEstimate,
    source_kind: str,
    follows_frame: bool,
    cuda_available: bool,
) -> str | None:
    """The one line about speed on a CPU, or None when the rate is fine (>= SLOW_FPS).

    follows_frame: the model runs at the frame's own size (smaller frames make it faster)."""
    if speed.fps >= SLOW_FPS:
        return None
    h, w = speed.frame
    if speed.measured:
        rate = (f"about {_rate(speed.fps)} frames/s on this CPU: {model_name} takes ~{_per_frame(speed.ms)} per "
                f"{w}x{h} frame")
    else:
        th, tw = speed.timed
        rate = (f"at most {_rate(speed.fps)} frames/s on this CPU: {model_name} took {_per_frame(speed.ms)} for a "
                f"{tw}x{th} test frame (the {w}x{h} frames have {speed.pixel_ratio:.0f}x its pixels)")
    ways = ["--device cuda (a CUDA GPU is present)" if cuda_available else "a CUDA GPU (--device cuda)"]
    if not model_name.startswith(LIGHT_MODEL):
        ways.append(f"the light model (--model {LIGHT_MODEL}; its shipped weights know rendered rooms only)")
    small = SMALL_FRAMES.get(source_kind)
    if follows_frame and small is not None and small[0] * small[1] < w * h:
        ways.append(f"smaller frames (--width {small[0]} --height {small[1]})")
    return f"expect {rate}; faster: {', '.join(ways)}"


def demo_weights_line(shipped: bool, source_kind: str, fills_holes: bool = False) -> str | None:
    """The note for the shipped demo weights on real frames (None: other weights, or the demo clip);
    with --no-fill-holes it warns that they read raw depth holes as windows and clutter."""
    if not shipped or source_kind == "demo":
        return None
    holes = "" if fills_holes else (
        "; with --no-fill-holes they read isolated depth holes as windows and clutter (docs/demo-model.md)")
    return (
        "note: the shipped demo weights were trained on rendered rooms only (sgnet synth): expect rough labels "
        "on real scenes; for real scenes use the official SGNet weights (e.g. --weights 'SGNet(Res50).pth.tar', "
        "see the README's 'Official SGNet weights') or train on your data (sgnet train --data DIR, docs/train.md)"
        + holes
    )


COMPILE_LINE = ("--compile: the first frames wait while torch.compile builds the model (tens of seconds on a "
                "CPU, again for each new input size); no speed estimate is made")


def expectations(segmenter: SegmenterLike, info: SourceInfo, budget_s: float = PROBE_BUDGET_S,
                 compiled: bool = False) -> Expectations:  # fmt: skip
    """Measure what needs measuring and build the lines (see the module docstring). A compiled model
    is not probed: each probe size would recompile it, and the compile time is not its speed."""
    import torch

    lines = []
    speed = None
    if compiled:
        lines.append(COMPILE_LINE)
    elif str(segmenter.device).startswith("cpu"):
        speed = probe_speed(segmenter, info.height, info.width, budget_s)
        follows = _model_pixels(segmenter, (info.height, info.width)) == info.height * info.width
        line = speed_line(segmenter.model_name, speed, info.kind, follows, torch.cuda.is_available())
        if line:
            lines.append(line)
    loaded = getattr(segmenter, "loaded", None)
    note = demo_weights_line(bool(getattr(loaded, "shipped", False)), info.kind,
                             bool(getattr(segmenter, "fill_holes", False)))
    if note:
        lines.append(note)
    return Expectations(speed, tuple(lines))


def say_expectations(segmenter: SegmenterLike, info: SourceInfo, say: Callable[[str], None],
                     compiled: bool = False) -> Expectations:  # fmt: skip
    """`expectations`, each line said (what `run_live` and the window's start call)."""
    found = expectations(segmenter, info, compiled=compiled)
    for line in found.lines:
        say(line)
    return found
