"""Speed measurements: the paper's forward-only protocol and per-stage Segmenter timings.

Paper protocol (spec §7, Trap 13): the fps/deploy network with random weights, random
`randn` image and S, `warmup` untimed forwards, then `iters` timed forwards with a device
synchronise before and after each. Unlike the official script we report the median, p90 and
p99 of all timed runs (it printed only the last one) and do not sleep between runs.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from sgnet.forward import autocast_context
from sgnet.frames import Intrinsics, RGBDFrame
from sgnet.segmenter import STAGES, Segmenter


@dataclass(frozen=True)
class TimingStats:
    """Summary of repeated timings in milliseconds."""

    iters: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    fps: float  # 1000 / median

    @staticmethod
    def of(samples_ms: list[float]) -> TimingStats:
        if not samples_ms:
            raise ValueError("no timings to summarise")
        a = np.asarray(samples_ms, dtype=np.float64)
        med = float(np.median(a))
        return TimingStats(
            len(a),
            med,
            float(np.percentile(a, 90)),
            float(np.percentile(a, 99)),
            float(a.mean()),
            float(a.min()),
            1000.0 / med if med > 0 else float("inf"),
        )

    def as_dict(self) -> dict:
        return asdict(self)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], object], device: torch.device, warmup: int, iters: int) -> list[float]:
    """Run fn `warmup` times untimed, then `iters` times, synchronising around each; ms per call."""
    for _ in range(max(0, warmup)):
        fn()
    _sync(device)
    out = []
    for _ in range(max(1, iters)):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def bench_forward(
    model: nn.Module,
    size: tuple[int, int],
    device: torch.device,
    precision: str = "fp32",
    warmup: int = 100,
    iters: int = 500,
    channels_last: bool = False,
    batch: int = 1,
    seed: int = 123,
) -> TimingStats:
    """The paper's protocol on an already built (random-weight, deploy) model."""
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(batch, 3, *size, generator=g).to(device)
    xyz = torch.randn(batch, 3, *size, generator=g).to(device)
    model = model.eval().to(device)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
        xyz = xyz.contiguous(memory_format=torch.channels_last)

    def run() -> None:
        with torch.inference_mode(), autocast_context(device, precision):
            model(image, xyz)

    return TimingStats.of(time_calls(run, device, warmup, iters))


def synthetic_frame(height: int, width: int, seed: int = 0) -> RGBDFrame:
    """A random RGB-D frame (depth 0.4..6 m in mm units, 5% holes) with a plausible camera."""
    rng = np.random.default_rng(seed)
    color = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    depth = rng.integers(400, 6000, (height, width)).astype(np.uint16)
    depth[rng.random((height, width)) < 0.05] = 0
    f = 0.8 * width
    intr = Intrinsics(width, height, f, f, (width - 1) / 2, (height - 1) / 2)
    return RGBDFrame(color=color, depth=depth, depth_scale=0.001, intrinsics=intr, index=0)


def bench_segmenter(seg: Segmenter, frame: RGBDFrame, warmup: int = 10, iters: int = 50) -> dict[str, TimingStats]:
    """Per-stage timings of `seg.segment(frame)` plus the wall-clock total ("total")."""
    for _ in range(max(0, warmup)):
        seg.segment(frame)
    per_stage: dict[str, list[float]] = {k: [] for k in (*STAGES, "total")}
    for _ in range(max(1, iters)):
        t0 = time.perf_counter()
        result = seg.segment(frame)
        per_stage["total"].append((time.perf_counter() - t0) * 1000.0)
        for k in STAGES:
            per_stage[k].append(result.timings[k])
    return {k: TimingStats.of(v) for k, v in per_stage.items()}


def _resolved_backend(device: torch.device) -> str:
    from ops.backends import get_backend, resolve

    choice = get_backend()
    try:
        return f"{choice} -> {resolve(device.type)}" if choice == "auto" else choice
    except ValueError:  # an explicit choice that cannot run here: say so in the figures
        return f"{choice} (cannot run on {device.type})"


def environment(device: torch.device) -> dict:
    """Device name and versions for benchmark JSON files."""
    from ops.bench import device_name

    name = device_name(device)
    return {
        "device": str(device),
        "device_name": name,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "ops_backend": _resolved_backend(device),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,  # other work on the machine
    }


def time_alternating(fns: dict[str, Callable[[], object]], device: torch.device, warmup: int,
                     iters: int) -> dict[str, list[float]]:  # fmt: skip
    """Each fn once per round, round after round (the order reversed every other round), so every
    candidate meets the same machine load and ratios are measured side by side; ms per call."""
    names = list(fns)
    for _ in range(max(0, warmup)):
        for name in names:
            fns[name]()
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(max(1, iters)):
        for name in names if r % 2 == 0 else names[::-1]:
            _sync(device)
            t0 = time.perf_counter()
            fns[name]()
            _sync(device)
            out[name].append((time.perf_counter() - t0) * 1000.0)
    return out


def bench_forward_engines(runners: dict[str, Callable], size: tuple[int, int], device: torch.device,
                          precision: str = "fp32", warmup: int = 10, iters: int = 50, channels_last: bool = False,
                          seed: int = 123) -> dict[str, TimingStats]:  # fmt: skip
    """The paper's protocol for several engines at once (`runners[name](image, xyz)`), alternated."""
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(1, 3, *size, generator=g).to(device)
    xyz = torch.randn(1, 3, *size, generator=g).to(device)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
        xyz = xyz.contiguous(memory_format=torch.channels_last)

    def call(fn: Callable) -> Callable[[], object]:
        def run() -> None:
            with torch.inference_mode(), autocast_context(device, precision):
                fn(image, xyz)

        return run

    times = time_alternating({k: call(fn) for k, fn in runners.items()}, device, warmup, iters)
    return {k: TimingStats.of(v) for k, v in times.items()}


def bench_segmenters(segs: dict[str, Segmenter], frame: RGBDFrame, warmup: int = 10,
                     iters: int = 50) -> dict[str, dict[str, TimingStats]]:  # fmt: skip
    """`bench_segmenter` for several segmenters (engines) at once, alternated round by round."""
    per: dict[str, dict[str, list[float]]] = {k: {s: [] for s in (*STAGES, "total")} for k in segs}

    def call(name: str, seg: Segmenter) -> Callable[[], object]:
        def run() -> None:
            t0 = time.perf_counter()
            result = seg.segment(frame)
            per[name]["total"].append((time.perf_counter() - t0) * 1000.0)
            for k in STAGES:
                per[name][k].append(result.timings[k])

        return run

    time_alternating({k: call(k, s) for k, s in segs.items()}, torch.device("cpu"), warmup, iters)
    n = max(1, iters)  # the warm-up runs recorded too: keep the timed ones
    return {k: {s: TimingStats.of(v[-n:]) for s, v in d.items()} for k, d in per.items()}
