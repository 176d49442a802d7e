"""`sgnet bench video`: video modes on labelled recordings: mIoU x compute x flicker (docs/video.md)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from app.commands.common import check_json_output, set_threads, write_json
from app.errors import UserError


def bench_video(
    recording: list[Path] = typer.Option(
        ..., "--recording", "-r", help="Recording with ground truth (sgnet synth --recording REC.db3); repeatable."
    ),
    labels: list[Path] = typer.Option(
        [], "--labels", help="Ground-truth folder of each --recording, in order (default: REC.labels beside it)."
    ),
    mode: str = typer.Option(
        ",".join(("1", "1/smooth", "3/flow/raw", "3/flow", "3/raw", "3", "3/smooth", "auto", "auto/smooth")),
        "--modes", help="Comma list of INTERVAL[/flow|/reproject][/raw][/smooth]; 1 = every frame through the "
        "network (the reference), raw = no refinement.",
    ),
    frames: int | None = typer.Option(None, "--frames", help="At most this many frames of each recording."),
    model: str | None = typer.Option(None, "--model", help="Model (default: the weights' model, else sgnet_lite)."),
    weights: Path | None = typer.Option(None, "--weights", "-w", help="Weights (default: the shipped ones)."),
    refiner: Path | None = typer.Option(None, "--refiner", help="Refiner weights (default: the shipped ones)."),
    device: str = typer.Option("cpu", help="cpu, cuda or auto."),
    threads: int | None = typer.Option(None, help="torch CPU threads (default: torch's choice)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write all figures as JSON."),
) -> None:
    """Replay labelled recordings through each video mode, interleaved frame by frame, and compare:
    mIoU against the ground truth ("no prediction" counts as wrong), summed compute per frame
    (upload + spatial + model + propagate + postprocess) and its ratio to mode 1, and flicker
    (share of pixels whose label changes between consecutive frames after compensating the true
    camera motion; the rendered rooms are static, so this is pure flicker).

    Examples:

      sgnet bench video -r eval/a.db3 -r eval/b.db3 --json benchmarks/video_cpu.json

      sgnet bench video -r a.db3 --modes 1,3,3/flow,auto --frames 60
    """
    import sys

    from rich.console import Console
    from rich.progress import Progress

    import sgnet
    from app.commands.video_data import read_labelled
    from sgnet.bench import environment
    from sgnet.device import resolve_device
    from sgnet.errors import SGNetUserError
    from sgnet.temporal.evaluate import LabelledSequence, parse_mode, run_modes

    modes = [m.strip() for m in mode.split(",") if m.strip()]
    try:
        for m in modes:
            parse_mode(m)
    except SGNetUserError as e:
        raise UserError(f"--modes: {e}") from None
    if "1" not in modes:
        modes.insert(0, "1")  # the reference the ratios are to
    if labels and len(labels) != len(recording):
        raise UserError(f"give one --labels per --recording ({len(recording)}), got {len(labels)}")
    if frames is not None and frames < 2:
        raise UserError(f"--frames must be at least 2, got {frames}")
    if refiner is not None and not refiner.is_file():
        raise UserError(f"--refiner {refiner} not found (sgnet train --refiner writes OUT/refiner.safetensors)")
    check_json_output(json_out)
    set_threads(threads)
    dev = resolve_device(device, "--device")
    seg = sgnet.Segmenter(model if (model or weights) else "sgnet_lite", weights=str(weights) if weights else None,
                          device=dev, label_resolution="input" if dev.type == "cpu" else "frame")
    if seg.classes.key != "nyu40":
        raise UserError(f"the ground truth is NYUv2-40; {seg.model_name} outputs {seg.classes.describe()} "
                        "(use NYUv2-40 weights)")
    sequences = []
    for i, rec in enumerate(recording):
        lr = read_labelled(rec, labels[i] if labels else None, frames)
        sequences.append(LabelledSequence(rec.name, lr.frames, lr.truth, lr.poses))
    env = environment(dev)
    console = Console(width=None if sys.stdout.isatty() else 140)
    n = sum(len(s.frames) for s in sequences)
    console.print(f"{n} frames of {len(sequences)} recording(s), {sequences[0].frames[0].width}x"
                  f"{sequences[0].frames[0].height}; {seg.model_name} on {env['device_name']} ({dev}), "
                  f"{env['threads']} threads, load average {os.getloadavg()[0]:.2f}", highlight=False)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"{len(modes)} modes", total=n)
        results, truth_flicker = run_modes(seg, sequences, modes, seg.classes.num_classes, refiner,
                                           on_frame=lambda: bar.advance(task))
    load_end = os.getloadavg()[0]
    base = results[0]
    print_table(console, results, base, truth_flicker)
    console.print(f"load average at the end {load_end:.2f}; ground truth flicker (the compensation's floor) "
                  f"{100 * truth_flicker:.2f}%", highlight=False)
    if json_out is not None:
        write_json(json_out, {
            "what": "sgnet bench video: video modes interleaved frame by frame on labelled recordings",
            "environment": env, "load_avg_end": load_end,
            "recordings": [str(r) for r in recording], "frames": n, "model": seg.model_name,
            "weights": str(seg.weights), "refiner": str(refiner) if refiner else "shipped",
            "truth_flicker": truth_flicker,
            "results": [r.as_dict() | {"ratio_to_1": r.robust_ms / base.robust_ms} for r in results],
        })
        console.print(f"wrote {json_out}", highlight=False)


def print_table(console, results, base, truth_flicker: float) -> None:
    from rich.table import Table

    t = Table(title="video modes (compute: keyframe share x median keyframe + rest x median carried frame)")
    for col in ("mode", "mIoU", "Δ mIoU", "keyframes", "compute ms/frame", "ratio to 1", "mean ms/frame",
                "propagate ms", "flicker", "flicker vs 1"):
        t.add_column(col, justify="left" if col == "mode" else "right")
    for r in results:
        prop = r.as_dict()["median_propagate_ms"]
        t.add_row(
            r.mode, f"{100 * r.miou:.2f}", f"{100 * (r.miou - base.miou):+.2f}", f"{100 * r.keyframes / r.frames:.0f}%",
            f"{r.robust_ms:.1f}", f"{r.robust_ms / base.robust_ms:.2f}", f"{r.mean_ms:.1f}",
            "-" if prop is None else f"{prop:.1f}", f"{100 * r.flicker:.2f}%", f"{r.flicker / base.flicker:.2f}",
        )
    console.print(t)
