"""`sgnet train --refiner`: train video mode's refinement network on labelled recordings.

Keyframe probabilities come from the real segmenter (`--model`/`--weights`, default the shipped
sgnet_lite), the recordings and their ground truth from `sgnet synth --recording`. Writes
`OUT/refiner.safetensors` (what `VideoOptions.refiner_weights` and the shipped
`assets/refiner_synth.safetensors` are) and `OUT/summary.json` (data, seed, time, validation
accuracy before and after refinement).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from app.errors import UserError


def train_refiner_command(data: list[Path], val_data: list[Path] | None, out: Path, iters: int, batch_size: int,
                          lr: float, seed: int, device: str, model: str, weights: Path | None) -> None:  # fmt: skip
    """The `--refiner` branch of `sgnet train` (options as there)."""
    import typer
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from safetensors.torch import save

    import sgnet
    from app.commands.video_data import read_labelled
    from app.files import write_bytes_atomic, write_text_atomic
    from sgnet.device import resolve_device
    from sgnet.temporal.training import make_samples, train_refiner

    if iters < 1 or batch_size < 1:
        raise UserError(f"--iters and --batch-size must be at least 1, got {iters} and {batch_size}")
    if not lr > 0:
        raise UserError(f"--lr must be positive, got {lr}")
    for p in [*data, *(val_data or [])]:
        if p.suffix.lower() not in (".db3", ".bag"):
            raise UserError(f"--refiner trains on recordings with ground truth (sgnet synth --recording REC.db3), "
                            f"not {p}")
    dev = resolve_device(device, "--device")
    t0 = time.perf_counter()
    seg = sgnet.Segmenter(model, weights=str(weights) if weights else None, device=dev)
    rng = np.random.default_rng(seed)
    samples, val = [], []
    for group, paths in ((samples, data), (val, val_data or [])):
        for p in paths:
            rec = read_labelled(p)
            group += make_samples(seg, rec.frames, rec.truth, rng=rng)
            typer.echo(f"{p}: {len(rec.frames)} frames, {len(group)} samples so far", err=True)
    prep_s = time.perf_counter() - t0
    bar = Progress(TextColumn("train refiner"), BarColumn(),
                   TextColumn("{task.completed}/{task.total} loss {task.fields[loss]}"), TimeRemainingColumn())
    with bar:
        task = bar.add_task("train", total=iters, loss="-")
        net, report = train_refiner(samples, val, iters=iters, batch_size=batch_size, lr=lr, seed=seed, device=dev,
                                    on_progress=lambda i, n, loss: bar.update(task, completed=i, loss=f"{loss:.3f}"))
    try:
        out.mkdir(parents=True, exist_ok=True)
        target = out / "refiner.safetensors"
        write_bytes_atomic(target, save({k: v.contiguous() for k, v in net.state_dict().items()},
                                        metadata={"format": "sgnet refiner", "seed": str(seed), "iters": str(iters)}))
        summary = {
            "command": " ".join(sys.argv), "data": [str(p) for p in data], "val_data": [str(p) for p in val_data or []],
            "model": seg.model_name, "weights": str(seg.weights), "seed": seed, "iters": iters,
            "batch_size": batch_size, "lr": lr, "device": str(dev), "prepare_seconds": round(prep_s, 1),
            **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in report.__dict__.items()},
        }
        write_text_atomic(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    except OSError as e:
        raise UserError(f"cannot write into {out}: {e.strerror or e}; choose a writable --out") from None
    line = f"trained the refiner ({report.parameters} parameters) on {report.samples} samples, {iters} iterations in " \
           f"{report.seconds:.0f} s"
    if report.val_accuracy_after is not None:
        line += (f"; validation pixel accuracy {100 * report.val_accuracy_before:.1f}% -> "
                 f"{100 * report.val_accuracy_after:.1f}%, coverage {100 * report.val_coverage_before:.1f}% -> "
                 f"{100 * report.val_coverage_after:.1f}%")
    typer.echo(f"{line}; weights: {target}")
