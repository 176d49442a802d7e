"""`sgnet train`: train a model on a NYUDv2-format folder, alone or under torchrun."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from app.commands.common import parse_hw
from app.errors import UserError
from app.sinks.base import check_output_dir


def _parse_crop(text: str | None) -> tuple[int, int] | None:
    """--crop HxW, or 'full' (None): train on whole images."""
    if text is None or text.lower() == "full":
        return None
    return parse_hw(text, "--crop", minimum=8)


def train_with_bar(cfg, show: bool):  # noqa: ANN001, ANN201 - a TrainConfig in, its TrainSummary out
    """Run `sgnet.train.train(cfg)` under a progress bar (iterations, loss, time left); `show` False
    on the ranks other than 0, so torchrun draws one bar."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sgnet.train import train as run_training

    progress = Progress(
        TextColumn("train"), BarColumn(), TextColumn("{task.completed}/{task.total} loss {task.fields[loss]}"),
        TimeRemainingColumn(), disable=not show,
    )
    with progress:
        task = progress.add_task("train", total=cfg.iters, loss="-")
        return run_training(cfg, on_progress=lambda i, n, loss: progress.update(task, completed=i, loss=f"{loss:.3f}"))


def train(
    data: list[Path] = typer.Option(
        ..., "--data",
        readable=False,
        help="NYUDv2-format folder (RGB/, Depth/, Label/, train.txt, test.txt); repeat to train on several as one.",
    ),
    model: str = typer.Option("sgnet_lite", "--model", help="Model name (see `sgnet info` / sgnet.list_models())."),
    model_args: str = typer.Option("{}", "--model-args", help='Model options as JSON, e.g. {"aux": true}.'),
    classes: str = typer.Option(
        "nyu40", "--classes", help="Class set to train into: nyu40, nyu13, sunrgbd37 or a JSON file (docs/classes.md); "
        "labels are mapped on the fly and the set is stored in the weights.",
    ),
    out: Path = typer.Option(
        Path("runs/train"), "--out", readable=False,
        help="Folder for checkpoints, logs and the final weights.",
    ),
    iters: int = typer.Option(2000, "--iters", help="Training iterations (optimizer steps)."),
    batch_size: int = typer.Option(8, "--batch-size", help="Samples per step and process."),
    lr: float = typer.Option(0.01, "--lr", help="Base learning rate (SGD, momentum 0.9, poly decay)."),
    weight_decay: float = typer.Option(1e-4, "--weight-decay"),
    warmup: int = typer.Option(50, "--warmup", help="Linear warm-up iterations."),
    crop: str = typer.Option("240x320", "--crop", help="Training crop HxW after random scaling, or 'full'."),
    scale_min: float = typer.Option(0.5, "--scale-min", help="Smallest random scale."),
    scale_max: float = typer.Option(2.0, "--scale-max", help="Largest random scale."),
    no_flip: bool = typer.Option(False, "--no-flip", help="Disable horizontal flips."),
    color_jitter: float = typer.Option(0.2, "--color-jitter", help="Brightness/contrast/saturation amplitude."),
    sensor_color: float = typer.Option(
        0.0, "--sensor-color", help="0-1: a real camera's colour (gamma, white balance, hue, blur, noise, JPEG)."
    ),
    sensor_depth: float = typer.Option(
        0.0, "--sensor-depth", help="0-1: a real sensor's depth (holes in-painted or added, quantised, scale)."
    ),
    fill_holes: float = typer.Option(
        0.0, "--fill-holes", help="0-1: share of samples whose depth holes are in-painted, as in NYUv2's labelled "
        "frames (a RealSense's depth has holes; docs/demo-model.md measures it).",
    ),
    aux_weight: float = typer.Option(0.4, "--aux-weight", help="Weight of the auxiliary (dsn3) loss."),
    class_weights: str = typer.Option(
        "none", "--class-weights", help="Loss weights per class: none, or sqrt (1/sqrt of pixel frequency)."
    ),
    val_every: int = typer.Option(0, "--val-every", help="Validate every N iterations (0: only at the end)."),
    val_limit: int = typer.Option(0, "--val-limit", help="Validate on the first N test images only (0: all)."),
    ckpt_every: int = typer.Option(200, "--ckpt-every", help="Save last.pt every N iterations."),
    log_every: int = typer.Option(10, "--log-every"),
    workers: int = typer.Option(2, "--workers", help="Data-loading worker processes per training process."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    amp: bool = typer.Option(None, "--amp/--no-amp", help="Mixed precision (default: on for CUDA)."),
    weights: Path = typer.Option(
        None, "--weights", readable=False,
        help="Start from these weights (official .pth.tar too).",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/last.pt."),
    depth_scale: float | None = typer.Option(
        None, "--depth-scale", help="Metres per depth unit; default: the dataset layout's own (NYUDv2 PNGs: mm)."
    ),
    sync_bn: bool = typer.Option(False, "--sync-bn", help="SyncBatchNorm across processes."),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="Also log to OUT/tensorboard (needs tensorboard)."),
    val_data: list[Path] = typer.Option(
        None, "--val-data", readable=False,
        help="Validate on the test splits of these folders (repeatable; default: the --data ones).",
    ),
    ema: float = typer.Option(
        0.0, "--ema", help="Also keep an exponential moving average of the weights with this decay (e.g. 0.9998; "
        "0: off); it is validated and saved as model.safetensors, the raw weights as model_raw.safetensors.",
    ),
    head_first: int = typer.Option(
        0, "--head-first", help="Train only the layers --weights does not fit (a new --classes head) for the first N "
        "iterations, then all of them: the head learns the features before they move.",
    ),
    refiner: bool = typer.Option(
        False, "--refiner", help="Train video mode's refinement network instead (docs/video.md): --data and --val-data "
        "take recordings with ground truth (sgnet synth --recording REC.db3); uses --model/--weights for the "
        "keyframes, --out, --iters, --batch-size, --lr, --seed, --device.",
    ),
) -> None:
    """Train a model; runs as one process or under torchrun (DDP: NCCL on GPU, gloo on CPU).

    Examples:

      sgnet train --data data/synth --model sgnet_lite --iters 3000 --out runs/lite

      sgnet train --data data/synth1 --data data/synth2 --val-data data/synth2 --out runs/both

      sgnet train --data data/synth --classes nyu13 --out runs/lite13

      torchrun --nproc-per-node 4 $(which sgnet) train --data data/nyudv2 --model sgnet_r50 --weights SGNet.pth.tar

      sgnet train --refiner --data a.db3 --data b.db3 --val-data c.db3 --iters 1500 --lr 0.002 --out runs/refiner
    """
    if refiner:
        from app.commands.refiner_train import train_refiner_command

        return train_refiner_command(data, val_data, out, iters, batch_size, lr, seed, device, model, weights)

    from sgnet.train import TrainConfig
    from sgnet.train.config import check_config
    from sgnet.train.distributed import launched_by_torchrun
    from sgnet.train.loop import describe_miou

    try:
        kwargs = json.loads(model_args)
        if not isinstance(kwargs, dict):
            raise ValueError("not an object")
    except ValueError:
        raise UserError(f"--model-args must be a JSON object, got {model_args!r}") from None
    for folder in [*data, *(val_data or [])]:
        if not folder.exists():
            raise UserError(f"dataset not found: {folder} (pass a NYUDv2-format folder)")
    cfg = TrainConfig(
        data=tuple(str(d) for d in data), val_data=tuple(str(d) for d in val_data) if val_data else None,
        out=str(out), model=model, model_kwargs=kwargs, classes=classes, iters=iters, batch_size=batch_size,
        lr=lr, weight_decay=weight_decay, warmup=warmup, crop=_parse_crop(crop), scale_range=(scale_min, scale_max),
        flip=not no_flip, color_jitter=color_jitter, sensor_color=sensor_color, sensor_depth=sensor_depth,
        fill_holes=fill_holes,
        aux_weight=aux_weight, class_weighting=class_weights,
        val_every=val_every,
        val_limit=val_limit or None, ckpt_every=ckpt_every, log_every=log_every, workers=workers, seed=seed,
        amp=amp, device=device, weights=str(weights) if weights else None, resume=resume,
        depth_scale=depth_scale, sync_bn=sync_bn, tensorboard=tensorboard, ema_decay=ema, head_first=head_first,
    )
    check_output_dir(out, "--out")  # the app's one rule for output folders
    check_config(cfg)  # every option and --weights: before the progress bar, so a mistake is one line
    show_bar = not launched_by_torchrun() or os.environ.get("RANK", "0") == "0"
    summary = train_with_bar(cfg, show_bar)
    if show_bar:
        typer.echo(
            f"trained {summary.iterations} iterations in {summary.seconds:.0f} s on {summary.world_size} process(es); "
            f"mIoU best {describe_miou(summary.best_miou)}, last {describe_miou(summary.last_miou)}; "
            f"weights: {Path(summary.out) / 'model.safetensors'}"
        )
