"""Timing of `deform_conv2d` backends against ATen's conv2d on SGNet's real S-Conv shapes.

Why interleaved: every round times each candidate once, in turn, so a slow period on a shared machine
hits all candidates alike and the ratios stay fair. Medians and p90 of the rounds are reported. On
CUDA each call is timed with CUDA events; on CPU with perf_counter around a synchronous call.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from ops import backends
from ops.functional import deform_conv2d


@dataclass(frozen=True)
class SConvShape:
    """One distinct S-Conv call of SGNet at 480x640 (spec §1.2); `layers` lists where it occurs."""

    name: str
    layers: tuple[str, ...]
    channels: int
    in_hw: tuple[int, int]
    stride: int

    @property
    def out_hw(self) -> tuple[int, int]:
        return tuple((s - 1) // self.stride + 1 for s in self.in_hw)  # 3x3, padding 1


# The 12 S-Convs of every SGNet at 480x640, identical calls merged (spec §1.2).
SGNET_SHAPES: tuple[SConvShape, ...] = (
    SConvShape("layer1", ("layer1.0", "layer1.1", "layer1.2"), 64, (120, 160), 1),
    SConvShape("layer2.0", ("layer2.0",), 128, (120, 160), 2),
    SConvShape("layer2.2", ("layer2.2", "layer2.3"), 128, (60, 80), 1),
    SConvShape("layer3.0", ("layer3.0",), 256, (60, 80), 2),
    SConvShape("layer3.21", ("layer3.21", "layer3.22"), 256, (30, 40), 1),
    SConvShape("layer4", ("layer4.0", "layer4.1", "layer4.2"), 512, (30, 40), 1),
)

MODES = ("forward", "forward_backward")


def select_shapes(names: list[str] | None) -> list[SConvShape]:
    """Shapes by name (`layer3.0`) or by any layer they cover (`layer3.22`); None = all."""
    if not names:
        return list(SGNET_SHAPES)
    picked: list[SConvShape] = []
    for raw in names:
        key = raw.strip()
        match = [s for s in SGNET_SHAPES if key == s.name or key in s.layers]
        if not match:
            known = ", ".join(s.name for s in SGNET_SHAPES)
            raise ValueError(f"unknown S-Conv shape {key!r}; choose from {known} (or a layer such as layer3.22)")
        if match[0] not in picked:
            picked.append(match[0])
    return picked


@dataclass
class Timing:
    median_ms: float
    p90_ms: float
    runs: int
    # CPU only: median process CPU time per call. Far above wall x threads means spinning; far below
    # wall x threads means the process waited for a core (a busy machine).
    cpu_median_ms: float | None = None


@dataclass
class CandidateResult:
    timings: dict[str, Timing] = field(default_factory=dict)  # per mode
    ratio_vs_conv2d: dict[str, float] = field(default_factory=dict)
    peak_mib: dict[str, float] = field(default_factory=dict)  # extra memory above the inputs, per mode
    error: str | None = None


@dataclass
class ShapeResult:
    shape: SConvShape
    batch: int
    results: dict[str, CandidateResult]


@dataclass
class BenchReport:
    device: str
    device_type: str
    dtype: str
    batch: int
    repeats: int
    warmup: int
    threads: int
    versions: dict[str, str | None]
    shapes: list[ShapeResult]

    def to_json(self) -> dict:
        out = asdict(self)
        for s, shp in zip(out["shapes"], self.shapes, strict=True):
            s["shape"]["out_hw"] = list(shp.shape.out_hw)
        return out


def _inputs(shape: SConvShape, batch: int, device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    c, (h, w), (ho, wo) = shape.channels, shape.in_hw, shape.out_hw

    def rnd(*s: int, scale: float = 1.0) -> torch.Tensor:
        return (torch.randn(*s, generator=gen) * scale).to(device=device, dtype=dtype)

    return {
        "x": rnd(batch, c, h, w),
        "weight": rnd(c, c, 3, 3, scale=(1.0 / (9 * c)) ** 0.5),
        "bias": torch.zeros(c, device=device, dtype=dtype),
        # offsets of a few pixels, like trained S-Convs; masks in (0, 1)
        "offset": rnd(batch, 18, ho, wo, scale=2.0),
        "mask": torch.rand(batch, 9, ho, wo, generator=gen).to(device=device, dtype=dtype),
    }


def _make_call(candidate: str, mode: str, shape: SConvShape, t: dict[str, torch.Tensor]) -> Callable[[], None]:
    """A closure doing one forward (no grad) or one forward+backward of the candidate."""
    grad_keys = ("x", "weight") if candidate == "conv2d" else ("x", "offset", "mask", "weight")
    leaves = {k: (v.detach().clone().requires_grad_(k in grad_keys) if mode != "forward" else v) for k, v in t.items()}

    def run() -> torch.Tensor:
        if candidate == "conv2d":
            return F.conv2d(leaves["x"], leaves["weight"], leaves["bias"], shape.stride, 1)
        with backends.use_backend(candidate):
            return deform_conv2d(
                leaves["x"], leaves["offset"], leaves["weight"], leaves["bias"], shape.stride, 1, 1, leaves["mask"]
            )

    if mode == "forward":

        def call() -> None:
            with torch.no_grad():
                run()

        return call
    grad_seed: list[torch.Tensor] = []

    def call_bwd() -> None:
        for k in grad_keys:
            leaves[k].grad = None
        out = run()
        if not grad_seed:
            grad_seed.append(torch.randn_like(out))
        out.backward(grad_seed[0])

    return call_bwd


def _timer(device: torch.device) -> Callable[[Callable[[], None]], tuple[float, float | None]]:
    """A function timing one call: (elapsed ms, process CPU ms or None on CUDA)."""
    if device.type == "cuda":

        def cuda_time(fn: Callable[[], None]) -> tuple[float, float | None]:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end), None

        return cuda_time

    def cpu_time(fn: Callable[[], None]) -> tuple[float, float | None]:
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3

    return cpu_time


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence fd 2 (the profiler's native library prints start/stop lines there)."""
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (embedded use): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_extra_mib(fn: Callable[[], None], device: torch.device) -> float:
    """Peak memory a call allocates on top of what exists before it (MiB)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    # CPU: replay the profiler's raw allocation records (+/- bytes) in order and keep the running maximum
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    records = sorted(
        ((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
    )
    level = peak = 0
    for _, nbytes in records:
        level += nbytes
        peak = max(peak, level)
    return peak / 2**20


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def run_benchmark(
    device: torch.device,
    dtype: torch.dtype,
    shapes: list[SConvShape],
    candidates: list[str],
    repeats: int,
    warmup: int,
    batch: int = 1,
    modes: tuple[str, ...] = MODES,
    measure_memory: bool = True,
    progress: Callable[[str], None] | None = None,
) -> BenchReport:
    """Time conv2d and each candidate backend, interleaved, on every shape and mode."""
    timer = _timer(device)
    report_shapes: list[ShapeResult] = []
    names = ["conv2d", *[c for c in candidates if c != "conv2d"]]
    for shape in shapes:
        if progress:
            progress(f"{shape.name}: {shape.channels} ch, {shape.in_hw[0]}x{shape.in_hw[1]}, stride {shape.stride}")
        tensors = _inputs(shape, batch, device, dtype)
        results = {n: CandidateResult() for n in names}
        for mode in modes:
            calls = {}
            for n in names:
                try:
                    call = _make_call(n, mode, shape, tensors)
                    call()  # also the first warm-up (compiles Triton kernels)
                    calls[n] = call
                except (RuntimeError, ValueError, TypeError) as e:
                    results[n].error = f"{type(e).__name__}: {e}"
            samples: dict[str, list[float]] = {n: [] for n in calls}
            cpu: dict[str, list[float]] = {n: [] for n in calls}
            for i in range(warmup + repeats):
                for n, call in calls.items():
                    ms, cpu_ms = timer(call)
                    if i >= warmup:
                        samples[n].append(ms)
                        if cpu_ms is not None:
                            cpu[n].append(cpu_ms)
            for n, vals in samples.items():
                cpu_med = statistics.median(cpu[n]) if cpu[n] else None
                results[n].timings[mode] = Timing(statistics.median(vals), _percentile(vals, 0.9), len(vals), cpu_med)
                if measure_memory:
                    results[n].peak_mib[mode] = peak_extra_mib(calls[n], device)
            base = results["conv2d"].timings.get(mode)
            for n in samples:
                if base is not None and n != "conv2d":
                    results[n].ratio_vs_conv2d[mode] = results[n].timings[mode].median_ms / base.median_ms
        report_shapes.append(ShapeResult(shape, batch, results))
    return BenchReport(
        device=device_name(device),
        device_type=device.type,
        dtype=str(dtype).removeprefix("torch."),
        batch=batch,
        repeats=repeats,
        warmup=warmup,
        threads=torch.get_num_threads(),
        versions=versions(),
        shapes=report_shapes,
    )


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} logical CPUs)"
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version(), "torch": torch.__version__}
    for dist in ("triton", "torchvision"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    out["cuda"] = torch.version.cuda
    return out
