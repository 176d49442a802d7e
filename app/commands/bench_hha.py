"""`sgnet bench hha`: time depth -> HHA (and xyz) per frame on a synthetic RealSense-like frame."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import typer

from app.commands.hha_cmd import resolve_device
from app.errors import UserError


def synthetic_depth(height: int, width: int, seed: int = 0):
    """A room seen by a tilted camera (floor, two walls, a box) with sensor-like holes.

    Holes: an invalid band on the left (stereo shadow), a dark patch, 3 % dropouts. Returns
    (depth float32 metres (H, W), (fx, fy, cx, cy) 0-based).
    """
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    f = 0.96 * width
    cam = (f, f, (width - 1) / 2, (height - 1) / 2)
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    rays = np.stack(((u - cam[2]) / f, (v - cam[3]) / f, np.ones_like(u)), -1)
    pitch, roll, yaw = math.radians(18), math.radians(4), math.radians(25)
    rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    rz = np.array([[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]])
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    rot = rz @ rx @ ry
    depth = np.full((height, width), np.inf)
    for i, (normal, dist) in enumerate((((0, 1, 0), 1.3), ((0, 0, 1), 3.5), ((1, 0, 0), 2.2), ((0, 0, 1), 2.0))):
        den = rays @ (rot @ np.asarray(normal, float))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(den > 1e-9, dist / den, np.inf)
        if i == 3:  # a box face 0.8 m wide standing on the floor
            pts = t[..., None] * rays @ rot
            t = np.where((np.abs(pts[..., 0]) < 0.4) & (pts[..., 1] > 0.5), t, np.inf)
        depth = np.minimum(depth, t)
    depth[~np.isfinite(depth)] = 0
    depth[:, : width // 20] = 0
    depth[height // 6 : height // 3, width // 2 : width // 2 + width // 8] = 0
    depth[rng.random(depth.shape) < 0.03] = 0
    depth = np.round(depth * 1000) / 1000
    return torch.from_numpy(depth.astype(np.float32)), cam


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _time(fn, device, warmup: int, repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and process-CPU milliseconds of each timed run.

    CPU time far below wall time means the process was waiting for a core (a busy machine).
    """
    import torch

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        fn()
    sync()
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        sync()
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    return wall, cpu


def bench_hha(
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    repeats: int = typer.Option(20, "--repeats", help="Timed runs per case (the median is reported)."),
    warmup: int = typer.Option(3, help="Untimed runs first."),
    size: str = typer.Option("480x640", help="Frame size HxW."),
    batch: int = typer.Option(1, help="Frames per call; times are reported per frame."),
    threads: int | None = typer.Option(None, help="torch CPU threads (default: torch's choice)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the figures as JSON."),
) -> None:
    """Time depth -> HHA and depth -> xyz: median ms per frame over repeated runs.

    Cases: hha.depth_to_hha with estimated gravity (default and exact settings) and with a
    known gravity (as from an IMU), and hha.depth_to_xyz, on a synthetic 480x640 frame of a
    room with sensor-like holes. On CUDA each run is synchronised before the clock stops.

    Examples:

      sgnet bench hha --device cpu --repeats 30

      sgnet bench hha --device cuda --batch 8 --json benchmarks/hha-h100.json
    """
    import torch
    from rich.console import Console
    from rich.table import Table

    import hha

    try:
        h, w = (int(x) for x in size.lower().split("x"))
    except ValueError:
        raise UserError(f"--size must look like 480x640 (height x width), got {size!r}") from None
    if h < 8 or w < 8:
        raise UserError(f"--size must be at least 8x8, got {size!r}")
    if repeats < 1 or warmup < 0 or batch < 1:
        raise UserError("--repeats and --batch must be >= 1, --warmup >= 0")
    if threads is not None:
        if threads < 1:
            raise UserError("--threads must be >= 1")
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    depth, cam = synthetic_depth(h, w)
    frames = depth.expand(batch, h, w).contiguous().to(dev) if batch > 1 else depth.to(dev)
    down = hha.depth_to_hha_full(frames, cam).gravity  # a fixed "IMU" vector for the known-gravity case

    cases = {
        "hha": lambda: hha.depth_to_hha(frames, cam),
        "hha_exact": lambda: hha.depth_to_hha(frames, cam, gravity_stride=1),
        "hha_known_gravity": lambda: hha.depth_to_hha(frames, cam, gravity=down),
        "xyz": lambda: hha.depth_to_xyz(frames, cam),
    }
    notes = {
        "hha": "gravity estimated, stride 2 (default)",
        "hha_exact": "gravity estimated, stride 1 (reference)",
        "hha_known_gravity": "gravity given (IMU)",
        "xyz": "depth_to_xyz",
    }
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else _cpu_name()
    console = Console()
    console.print(
        f"{name} ({dev}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
        f"{h}x{w}, batch {batch}, {repeats} runs after {warmup} warm-up"
    )
    table = Table(title="ms per frame (wall clock; CPU ms = process CPU time, all threads)")
    for col in ("case", "median", "p90", "min", "frames/s", "CPU ms", "what"):
        table.add_column(col, justify="left" if col in ("case", "what") else "right")
    results = {}
    for key, fn in cases.items():
        with console.status(key):
            wall, cpu = _time(fn, dev, warmup, repeats)
        t = sorted(x / batch for x in wall)
        med, cpu_med = statistics.median(t), statistics.median(cpu) / batch
        p90 = t[min(len(t) - 1, math.ceil(0.9 * len(t)) - 1)]
        results[key] = {
            "median_ms": med,
            "p90_ms": p90,
            "min_ms": t[0],
            "fps": 1000.0 / med,
            "cpu_median_ms": cpu_med,
            "what": notes[key],
        }
        row = (f"{med:.1f}", f"{p90:.1f}", f"{t[0]:.1f}", f"{1000.0 / med:.1f}", f"{cpu_med:.1f}")
        table.add_row(key, *row, notes[key])
    console.print(table)
    if json_out is not None:
        payload = {
            "benchmark": "sgnet bench hha",
            "device": str(dev),
            "device_name": name,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "size": [h, w],
            "batch": batch,
            "repeats": repeats,
            "warmup": warmup,
            "frame": "synthetic room, tilted camera, left invalid band + patch + 3% dropouts",
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "results": results,
        }
        try:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        except OSError as e:
            raise UserError(f"cannot write {json_out}: {e}") from None
