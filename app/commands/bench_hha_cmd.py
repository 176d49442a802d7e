"""`sgnet bench hha`: time depth -> HHA (and xyz) per frame on a synthetic RealSense-like frame."""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path

import typer

from app.commands.common import check_json_output, parse_hw, set_threads, write_json
from app.errors import UserError


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
    from hha.synthetic import synthetic_room_depth
    from ops.bench import device_name
    from sgnet.device import resolve_device

    h, w = parse_hw(size, "--size", minimum=8)
    if repeats < 1 or warmup < 0 or batch < 1:
        raise UserError("--repeats and --batch must be >= 1, --warmup >= 0")
    check_json_output(json_out)
    set_threads(threads)
    dev = resolve_device(device, "--device")
    depth, cam = synthetic_room_depth(h, w)
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
    name = device_name(dev)
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
        write_json(json_out, payload)

