"""`sgnet distill`: a fast model of your own rooms from a big model's pseudo-labels (docs/distill.md)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import typer

from app.commands.train_cmd import _parse_crop, train_with_bar
from app.errors import UserError
from app.sinks.base import check_output_dir


def distill(
    teacher: str = typer.Option(..., "--teacher", help="The big model: MODEL:WEIGHTS, a weights file, or a model "
                                "name with shipped weights."),
    data: list[str] = typer.Option(..., "--data", help="Unlabelled frames, as `sgnet-live --camera` takes them: a "
                                   "recording (.bag/.db3), a ROS bag, an image folder or demo; repeatable."),
    classes: str | None = typer.Option(None, "--classes", help="Train the student in this class set (nyu40, nyu13, "
                                       "sunrgbd37 or a JSON file): the teacher's probabilities are merged into it; "
                                       "default: the teacher's own."),
    student: str = typer.Option("sgnet_lite", "--student", help="The model to train (see `sgnet info`)."),
    out: Path = typer.Option(Path("runs/distill"), "--out", readable=False, help="Folder for the pseudo-labels "
                             "(OUT/pseudo), checkpoints and the student's weights."),
    min_confidence: float = typer.Option(0.7, "--min-confidence", help="Pixels where the teacher's winning "
                                         "probability is lower are left out of training."),
    every: int = typer.Option(1, "--every", help="Label every N-th frame of each source."),
    max_frames: int | None = typer.Option(None, "--max-frames", help="At most N frames per source (after --every)."),
    test_every: int = typer.Option(10, "--test-every", help="Hold out every N-th labelled frame to score the "
                                   "student's agreement with the teacher (0: none)."),
    fill_holes: bool = typer.Option(False, "--fill-holes", help="In-paint each frame's depth holes before the "
                                    "teacher labels it; the pseudo-label folders keep the in-painted depth, so "
                                    "the student trains on what sgnet-live feeds it from a real camera."),
    val_data: list[Path] = typer.Option(None, "--val-data", readable=False, help="Also score on these labelled "
                                        "NYUDv2-format folders' test splits (instead of the agreement)."),
    soft: float = typer.Option(0.0, "--soft", help="Share of the loss from the teacher's soft targets, the "
                               "teacher running beside the student on every batch (0: hard pseudo-labels only; "
                               "1: soft targets only). Needs the teacher as a PyTorch checkpoint."),
    temperature: float = typer.Option(1.0, "--temperature", help="Softmax temperature of the soft targets."),
    iters: int = typer.Option(2000, "--iters", help="Training iterations."),
    batch_size: int = typer.Option(8, "--batch-size", help="Samples per step and process."),
    lr: float = typer.Option(0.01, "--lr", help="Base learning rate."),
    crop: str = typer.Option("240x320", "--crop", help="Training crop HxW, or 'full'."),
    student_weights: Path = typer.Option(None, "--student-weights", readable=False, help="Start the student from "
                                         "these weights (default: ImageNet-free random init, as sgnet train)."),
    ema: float = typer.Option(0.0, "--ema", help="EMA decay of the weights (0: off), as in sgnet train."),
    head_first: int = typer.Option(0, "--head-first", help="With --student-weights for another class set: train "
                                   "only the new head for the first N iterations, as in sgnet train."),
    val_every: int = typer.Option(0, "--val-every", help="Validate every N iterations (0: only at the end)."),
    ckpt_every: int = typer.Option(200, "--ckpt-every", help="Save last.pt every N iterations."),
    workers: int = typer.Option(2, "--workers", help="Data-loading worker processes per training process."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue training from OUT/last.pt (the pseudo-labels in "
                                "OUT are reused)."),
) -> None:
    """Distil a big teacher into a fast student on your own unlabelled recordings.

    The teacher labels the frames; pixels it is sure of (--min-confidence) become training
    labels in OUT/pseudo; the student then trains on them like `sgnet train` (checkpoints,
    --resume, torchrun). Reported: the student's agreement with the teacher on held-out frames.

    Examples:

      sgnet distill --teacher sgnet_r101:SGNet_Res101.pth.tar --data room1.db3 --data room2.bag --out runs/mine

      sgnet distill --teacher sgnet_lite --data demo --max-frames 50 --iters 200 --out runs/try

      sgnet distill --teacher big.safetensors --data room.db3 --soft 0.5 --temperature 2 --out runs/soft

      torchrun --nproc-per-node 2 $(which sgnet) distill --teacher big.safetensors --data rooms/ --out runs/mine
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from app.distill.pseudo import PseudoConfig
    from app.distill.run import make_pseudo_labels, parse_teacher, student_classes, train_folders
    from sgnet.errors import SGNetUserError
    from sgnet.loading import EXPORTED_SUFFIXES
    from sgnet.train import TrainConfig, distributed
    from sgnet.train.config import check_config
    from sgnet.train.loop import describe_miou

    check_output_dir(out, "--out")
    who = parse_teacher(teacher, classes)
    if soft > 0 and who.weights and Path(who.weights).suffix.lower() in EXPORTED_SUFFIXES:  # before the labelling
        raise UserError(f"--soft needs the teacher as a PyTorch checkpoint, and {Path(who.weights).name} is an "
                        "exported network: pass the checkpoint it was exported from, or --soft 0")
    pseudo_cfg = PseudoConfig(tuple(data), min_confidence, every, max_frames, test_every, fill_holes)
    pseudo_cfg.check()
    for folder in val_data or []:
        if not folder.exists():
            raise UserError(f"--val-data folder not found: {folder}")

    def make_cfg(folders: tuple[str, ...], classes: str) -> TrainConfig:
        return TrainConfig(
            data=folders, val_data=tuple(str(v) for v in val_data) if val_data else None,
            out=str(out), model=student, classes=classes, iters=iters, batch_size=batch_size, lr=lr,
            crop=_parse_crop(crop), val_every=val_every, ckpt_every=ckpt_every, workers=workers, seed=seed,
            device=device, weights=str(student_weights) if student_weights else None, resume=resume, ema_decay=ema,
            teacher_model=who.model, teacher_weights=who.weights, soft_weight=soft, temperature=temperature,
            head_first=head_first,
        )

    # the training options: one line now, not after the labelling (whether --head-first has a new layer to
    # train needs the student's class set: the teacher's own when --classes is not given, known once it labelled)
    early = make_cfg(("unused",), classes or "nyu40")
    check_config(early if classes or not student_weights else replace(early, head_first=0))
    try:
        ctx = distributed.setup(device)
    except RuntimeError as e:
        raise SGNetUserError(str(e)) from None
    main = ctx.is_main
    say = (lambda msg: typer.echo(f"sgnet distill: {msg}", err=True)) if main else (lambda msg: None)
    try:
        bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}"),
                       TimeRemainingColumn(), disable=not main or not os.isatty(2))
        with bar:
            task = bar.add_task("pseudo-labels", total=None)
            report = make_pseudo_labels(who, pseudo_cfg, out, ctx, say, lambda: bar.advance(task))
        say(report.line())
        cfg = make_cfg(train_folders(out, report), student_classes(out, report))
        check_config(cfg)
        summary = train_with_bar(cfg, main)
    finally:
        distributed.teardown()
    if main:
        what = "mIoU on --val-data" if val_data else "agreement with the teacher (mIoU on held-out frames)"
        typer.echo(
            f"distilled {report.teacher} into {student}: {summary.iterations} iterations in {summary.seconds:.0f} s "
            f"on {summary.world_size} process(es); {what}: best {describe_miou(summary.best_miou)}, last "
            f"{describe_miou(summary.last_miou)}; weights: {Path(summary.out) / 'model.safetensors'}"
        )
