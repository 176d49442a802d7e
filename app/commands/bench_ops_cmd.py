"""`sgnet bench ops`: S-Conv backends against ATen's conv2d on SGNet's real S-Conv shapes."""

from __future__ import annotations

from pathlib import Path

import typer

from app.commands.common import check_json_output, set_threads, write_json
from app.errors import UserError

DTYPES = ("float32", "float16", "bfloat16")


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def bench_ops(
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto (CUDA when present)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32, float16 or bfloat16."),
    repeats: int = typer.Option(None, "--repeats", help="Timed runs per case [default: 10 on CPU, 100 on CUDA]."),
    warmup: int = typer.Option(None, "--warmup", help="Untimed runs first [default: 2 on CPU, 20 on CUDA]."),
    shapes: str = typer.Option(
        None, "--shapes", help="Comma-separated subset: layer1, layer2.0, layer2.2, layer3.0, layer3.21, layer4."
    ),
    backends: str = typer.Option(
        None, "--backends", help="Comma-separated: torch, triton, torchvision [default: all available]."
    ),
    batch: int = typer.Option(1, "--batch", help="Batch size."),
    forward_only: bool = typer.Option(False, "--forward-only", help="Skip the forward+backward timings."),
    memory: bool = typer.Option(True, "--memory/--no-memory", help="Also measure each call's peak extra memory."),
    threads: int = typer.Option(None, "--threads", help="CPU threads for torch [default: torch's choice]."),
    json_path: Path = typer.Option(None, "--json", help="Write the full results as JSON to this file."),
) -> None:
    """Time deform_conv2d backends vs conv2d on the 12 S-Conv shapes of SGNet at 480x640.

    Each round runs every candidate once, in turn (fair on a busy machine); medians and p90 are
    reported, with CUDA events on CUDA. Ratios are backend time / conv2d time of the same shape.

    Examples:

      sgnet bench ops --device cpu

      sgnet bench ops --shapes layer3.0,layer3.21 --forward-only --repeats 20

      sgnet bench ops --device cuda --dtype float16 --json benchmarks/ops-h100.json
    """
    import torch

    from ops import available_backends
    from ops.bench import SGNET_SHAPES, run_benchmark, select_shapes
    from sgnet.device import resolve_device

    dev = resolve_device(device, "--device")
    if dtype not in DTYPES:
        raise UserError(f"unknown --dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    if batch < 1 or (repeats is not None and repeats < 1) or (warmup is not None and warmup < 0):
        raise UserError("--batch and --repeats must be at least 1 and --warmup at least 0")
    check_json_output(json_path)
    set_threads(threads)
    try:
        picked = select_shapes(_split(shapes))
    except ValueError as e:
        raise UserError(str(e)) from None
    usable = available_backends(dev.type)
    wanted = _split(backends) or usable
    missing = [b for b in wanted if b not in usable]
    if missing:
        raise UserError(
            f"backend(s) {', '.join(missing)} cannot run on {dev.type} here (available: {', '.join(usable)})"
        )
    on_cuda = dev.type == "cuda"
    repeats = repeats if repeats is not None else (100 if on_cuda else 10)
    warmup = warmup if warmup is not None else (20 if on_cuda else 2)
    modes = ("forward",) if forward_only else ("forward", "forward_backward")

    from rich.console import Console

    console = Console()
    console.print(
        f"[bold]S-Conv ops benchmark[/] on {dev.type}, {dtype}, batch {batch}, {repeats} timed runs "
        f"(+{warmup} warm-up) per case, {len(picked)} of {len(SGNET_SHAPES)} shapes, threads {torch.get_num_threads()}"
    )
    report = run_benchmark(
        dev,
        getattr(torch, dtype),
        picked,
        wanted,
        repeats=repeats,
        warmup=warmup,
        batch=batch,
        modes=modes,
        measure_memory=memory,
        progress=lambda msg: console.print(f"  timing {msg}", style="dim"),
    )
    console.print(_table(report, modes))
    if json_path is not None:
        write_json(json_path, report.to_json())
        console.print(f"wrote {json_path}")
    raise typer.Exit(0)


def _table(report, modes):
    from rich.table import Table

    table = Table(
        title=f"deform_conv2d vs ATen conv2d — {report.device}, {report.dtype}",
        caption="ms: median and p90 of the timed runs; ×conv2d: median / conv2d's median; MiB: peak extra memory",
    )
    table.add_column("shape (C, in HxW, stride)")
    table.add_column("backend")
    titles = {"forward": "fwd", "forward_backward": "fwd+bwd"}
    for mode in modes:
        t = titles[mode]
        table.add_column(f"{t} ms", justify="right")
        table.add_column("p90", justify="right")
        table.add_column("×conv2d", justify="right")
    table.add_column("MiB " + "/".join(titles[m] for m in modes), justify="right")
    for res in report.shapes:
        s = res.shape
        label = f"{s.name}\n{s.channels}, {s.in_hw[0]}x{s.in_hw[1]}, {s.stride}"
        for name, cand in res.results.items():
            row = [label, name]
            for mode in modes:
                t = cand.timings.get(mode)
                if t is None:
                    row += [cand.error or "–", "", ""]
                    continue
                ratio = cand.ratio_vs_conv2d.get(mode)
                row += [f"{t.median_ms:.1f}", f"{t.p90_ms:.1f}", f"{ratio:.2f}" if ratio is not None else "1"]
            row.append("/".join(f"{cand.peak_mib[m]:.0f}" for m in modes if m in cand.peak_mib))
            table.add_row(*row)
            label = ""  # the shape is named once
    return table
