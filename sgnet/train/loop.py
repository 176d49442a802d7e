"""`sgnet train`: one training loop for a single process and for torchrun/DDP.

Iteration-based (poly LR with warm-up), cross-entropy with ignore index 255 on the main
logits plus a weighted auxiliary-head loss, periodic validation mIoU over the whole
validation set (confusion matrices summed across ranks), atomic checkpoints every N
iterations and on Ctrl-C, `--resume`, a CSV log (TensorBoard too when it is installed),
and at the end a check that every rank holds bit-identical weights.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

import hha
from sgnet.classes import relabel
from sgnet.data import concat_datasets, open_dataset
from sgnet.errors import SGNetUserError
from sgnet.evaluate import predict_logits, prepare_sample
from sgnet.metrics import confusion_matrix, scores
from sgnet.preprocess import normalize_color
from sgnet.registry import create_model
from sgnet.train import checkpoint, distributed
from sgnet.train.augment import IGNORE_INDEX, AugmentConfig
from sgnet.train.class_weights import class_weights, label_histogram
from sgnet.train.config import TrainConfig, TrainSummary, as_folders, check_config, has_test_list
from sgnet.train.dataset import TrainSet
from sgnet.train.schedule import poly_warmup_scheduler
from sgnet.train.sensor_augment import SensorAugmentConfig
from sgnet.train.soft_targets import TeacherNet, image_mask, load_teacher_net, mixed_loss
from sgnet.weights import load_weights

ProgressFn = Callable[[int, int, float], None]  # (iteration, total, loss)


def fingerprint(model: nn.Module) -> str:
    """sha256 of every parameter and buffer: equal strings <=> bit-identical weights."""
    h = hashlib.sha256()
    for name, t in sorted(_unwrap(model).state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().to("cpu").contiguous().numpy().tobytes())
    return h.hexdigest()


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def _gather_strings(s: str, ctx: distributed.DistContext) -> list[str]:
    if not ctx.distributed:
        return [s]
    out: list[str | None] = [None] * ctx.world_size
    dist.all_gather_object(out, s)
    return [str(x) for x in out]


def _sync_buffers(model: nn.Module, ctx: distributed.DistContext) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank. DDP broadcasts them
    before each forward, so after the last step each rank still holds its own batch's update."""
    if ctx.distributed:
        for buf in _unwrap(model).buffers():
            dist.broadcast(buf, src=0)


def segmentation_loss(
    out, label: torch.Tensor, aux_weight: float, class_weight: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(total, main) cross-entropy at the label's resolution; ignore index 255, optional class weights."""
    size = label.shape[-2:]
    main = out[0] if isinstance(out, list | tuple) else out
    up = F.interpolate(main.float(), size=size, mode="bilinear", align_corners=True)
    main_loss = F.cross_entropy(up, label, weight=class_weight, ignore_index=IGNORE_INDEX)
    total = main_loss
    if isinstance(out, list | tuple) and len(out) > 1 and aux_weight > 0:
        aux = F.interpolate(out[1].float(), size=size, mode="bilinear", align_corners=True)
        total = total + aux_weight * F.cross_entropy(aux, label, weight=class_weight, ignore_index=IGNORE_INDEX)
    return total, main_loss


class _Logger:
    """CSV rows (and TensorBoard scalars when available) on rank 0; flushed on every row."""

    def __init__(self, out: Path, enabled: bool, tensorboard: bool, resume: bool) -> None:
        self.enabled = enabled
        self.files: dict[str, tuple[object, csv.writer]] = {}
        self.out = out
        self.resume = resume
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out / "tensorboard"))
            except ImportError:
                print("sgnet train: tensorboard is not installed; logging to CSV only (pip install tensorboard)")

    def row(self, name: str, values: dict[str, float | int]) -> None:
        if not self.enabled:
            return
        if name not in self.files:
            path = self.out / f"{name}.csv"
            new = not (self.resume and path.exists())
            f = open(path, "w" if new else "a", newline="")  # noqa: SIM115 (kept open for the run)
            w = csv.writer(f)
            if new:
                w.writerow(list(values))
            self.files[name] = (f, w)
        f, w = self.files[name]
        w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in values.values()])
        f.flush()
        if self.tb is not None:
            step = int(values.get("iteration", 0))
            for k, v in values.items():
                if k != "iteration":
                    self.tb.add_scalar(f"{name}/{k}", v, step)

    def close(self) -> None:
        for f, _ in self.files.values():
            f.close()
        if self.tb is not None:
            self.tb.close()


@torch.no_grad()
def validate(model: nn.Module, dataset, ctx: distributed.DistContext, num_classes: int, limit: int | None = None):
    """Dataset-level scores; each rank runs its share and the confusion matrices are summed."""
    net = _unwrap(model)
    was_training = net.training
    net.eval()
    n = len(dataset) if limit is None else min(limit, len(dataset))
    hist = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=ctx.device)
    for i in range(ctx.rank, n, ctx.world_size):
        sample = dataset[i]
        image, xyz = prepare_sample(sample, ctx.device, "frame")
        pred = predict_logits(net, image, xyz)[0].argmax(0)
        hist += confusion_matrix(torch.from_numpy(sample.label).to(ctx.device), pred, num_classes)
    distributed.all_reduce_sum(hist)
    net.train(was_training)
    return scores(hist.cpu().numpy())


def _check_data(cfg: TrainConfig):
    """The training set (the train splits of every --data folder, in order) and the validation
    set (the test.txt samples of the --val-data folders, by default of the --data folders that
    have a test.txt; None if there are none). A folder without test.txt has no test split (all of
    its images would include training ones), so it is skipped by default and refused as --val-data."""
    if not cfg.data_folders:
        raise SGNetUserError("no training data: pass at least one --data folder")
    def read(folder: str, split: str):
        return open_dataset(folder, split=split, depth_scale=cfg.depth_scale, need_labels=True)

    train_set = relabel(concat_datasets([read(d, "train") for d in cfg.data_folders]), cfg.class_set)
    if len(train_set) < cfg.batch_size:
        raise SGNetUserError(
            f"{cfg.data_label}: the train split has {len(train_set)} samples, fewer than --batch-size {cfg.batch_size}"
        )
    if cfg.val_data is None:
        val_folders = [d for d in cfg.data_folders if has_test_list(d)]
    else:
        val_folders = as_folders(cfg.val_data)
        for d in val_folders:
            if Path(d).is_dir() and not has_test_list(d):
                raise SGNetUserError(f"--val-data {d} has no test.txt; add one or pass a list file")
    val_parts = [read(d, "test") for d in val_folders]
    return train_set, (relabel(concat_datasets(val_parts), cfg.class_set) if val_parts else None)


def train(cfg: TrainConfig, on_progress: ProgressFn | None = None) -> TrainSummary:
    """Run training as configured; returns what happened (rank 0 also writes it to summary.json)."""
    check_config(cfg)
    try:
        ctx = distributed.setup(cfg.device)
    except RuntimeError as e:
        raise SGNetUserError(str(e)) from None
    try:
        return _train(cfg, ctx, on_progress)
    finally:
        distributed.teardown()


@dataclass
class _Feed:
    """The training batches: `data` and `sampler` are reseeded every epoch, so both are kept."""

    data: TrainSet
    sampler: DistributedSampler
    loader: DataLoader
    class_weight: torch.Tensor | None


@dataclass
class _Run:
    """One run's shared state, built by `_setup`; `iteration` and `best` live here so the
    validation, Ctrl-C and final checkpoints all see the current values."""

    cfg: TrainConfig
    ctx: distributed.DistContext
    out: Path
    model: nn.Module  # the DDP wrapper under torchrun, else the bare model
    state: checkpoint.Trainables
    use_amp: bool
    initial: str  # fingerprint of the weights before the first step
    val_set: object | None  # the validation dataset; None when no folder has a test split
    feed: _Feed
    log: _Logger
    teacher: TeacherNet | None = None  # soft targets (TrainConfig.soft_weight > 0)
    held: tuple[nn.Parameter, ...] = ()  # not stepped for the first cfg.head_first iterations
    iteration: int = 0
    best: float | None = None
    last_miou: float | None = None
    t0: float = 0.0

    def save(self, name: str) -> None:
        checkpoint.save_checkpoint(self.out / name, self.state, self.iteration, self.best, self.cfg)


def _train(cfg: TrainConfig, ctx: distributed.DistContext, on_progress: ProgressFn | None) -> TrainSummary:
    """setup (and resume), steps, a last validation, finish; Ctrl-C saves last.pt for --resume."""
    run = _setup(cfg, ctx)
    run.t0 = time.perf_counter()
    try:
        _step_loop(run, on_progress)
        run.last_miou = _run_validation(run)
    except KeyboardInterrupt:
        if ctx.is_main:
            run.save(checkpoint.LAST)
            print(f"sgnet train: interrupted at iteration {run.iteration}; saved {run.out / checkpoint.LAST} "
                  "(continue with --resume)")
        run.log.close()
        raise
    return _finish(run)


def _setup(cfg: TrainConfig, ctx: distributed.DistContext) -> _Run:
    """Data, output folder, model, optimiser, then `--resume` and the EMA: in this order, so a
    data mistake fails before anything is written or built and the EMA starts at the resumed weights."""
    train_set, val_set = _check_data(cfg)
    out = Path(cfg.out)
    if ctx.is_main:
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
        except OSError as e:  # a file in the way, no permission, a full disk: before any step
            raise SGNetUserError(f"cannot write to --out {out}: {(e.strerror or str(e)).lower()}") from None
    model, initial, held = _make_model(cfg, ctx)
    net = _unwrap(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sched = poly_warmup_scheduler(opt, cfg.iters, cfg.warmup, cfg.power)
    use_amp = (ctx.device.type == "cuda") if cfg.amp is None else cfg.amp
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=use_amp and ctx.device.type == "cuda")
    state = checkpoint.Trainables(net, opt, sched, scaler)
    resumed = checkpoint.ResumedState()
    if cfg.resume:
        resumed = checkpoint.resume(out, state, ctx.device, announce=ctx.is_main)
    state.ema = checkpoint.resume_ema(net, cfg.ema_decay, resumed.ema)
    feed = _make_feed(cfg, ctx, out, train_set)
    teacher = None
    if cfg.soft_weight > 0:
        teacher = load_teacher_net(cfg.teacher_model, cfg.teacher_weights, cfg.class_set, ctx.device,
                                   cfg.soft_weight, cfg.temperature)
    log = _Logger(out, ctx.is_main, cfg.tensorboard, cfg.resume)
    return _Run(cfg, ctx, out, model, state, use_amp, initial, val_set, feed, log, teacher, held,
                iteration=resumed.iteration, best=resumed.best_miou)


def _make_model(cfg: TrainConfig, ctx: distributed.DistContext) -> tuple[nn.Module, str, tuple[nn.Parameter, ...]]:
    """The model on its device (DDP-wrapped under torchrun), the fingerprint of its starting
    weights (seeded first so every rank starts from identical weights), and the parameters
    --head-first holds still: those --weights gave."""
    torch.manual_seed(cfg.seed)
    model = create_model(cfg.model, num_classes=cfg.num_classes, **cfg.model_kwargs)
    model.class_set = cfg.class_set  # saved in every checkpoint's metadata (see sgnet.weights)
    held: tuple[nn.Parameter, ...] = ()
    if cfg.weights:
        res = load_weights(model, cfg.weights, strict=False)
        if ctx.is_main and res.dropped:
            print(f"sgnet train: {len(res.dropped)} tensors of {cfg.weights} do not fit {cfg.model} and were skipped")
        if cfg.head_first:
            held = _given_parameters(model, res.filled)
    model.to(ctx.device)
    model.train()
    initial = fingerprint(model)
    if ctx.distributed:
        if cfg.sync_bn:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DistributedDataParallel(model, device_ids=[ctx.local_rank] if ctx.device.type == "cuda" else None)
    return model, initial, held


def _given_parameters(model: nn.Module, fresh: list[str]) -> tuple[nn.Parameter, ...]:
    """The parameters the weights file gave (check_config made sure it did not give them all)."""
    new = set(fresh)
    return tuple(p for name, p in model.named_parameters() if name not in new)


def _make_feed(cfg: TrainConfig, ctx: distributed.DistContext, out: Path, train_set) -> _Feed:
    """Augmented, per-rank sharded batches and the optional class weights (recorded on rank 0)."""
    class_weight = None
    if cfg.class_weighting != "none":
        class_weight = class_weights(label_histogram(train_set, cfg.num_classes), cfg.class_weighting)
    if class_weight is not None:
        class_weight = class_weight.to(ctx.device)
        if ctx.is_main:
            (out / "class_weights.json").write_text(json.dumps([round(float(w), 4) for w in class_weight]) + "\n")
    sensor = SensorAugmentConfig(cfg.sensor_color, cfg.sensor_depth, cfg.fill_holes)
    aug = AugmentConfig(cfg.crop, cfg.scale_range, cfg.flip, cfg.color_jitter, sensor)
    data = TrainSet(train_set, aug, cfg.seed)
    sampler = DistributedSampler(data, ctx.world_size, ctx.rank, shuffle=True, seed=cfg.seed, drop_last=True)
    loader = DataLoader(
        data, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers, drop_last=True,
        pin_memory=ctx.device.type == "cuda", persistent_workers=False,
    )
    if len(loader) == 0:
        raise SGNetUserError(
            f"{cfg.data_label}: {len(train_set)} training samples over {ctx.world_size} process(es) do not fill one "
            f"batch of {cfg.batch_size}; lower --batch-size"
        )
    return _Feed(data, sampler, loader, class_weight)


def _step_loop(run: _Run, on_progress: ProgressFn | None) -> None:
    """Steps from `run.iteration` to `--iters`, with logging, periodic validation and `last.pt`.
    The epoch (the shuffle's seed) follows from the iteration, so a resumed run draws the shuffle of
    the epoch it stopped in."""
    cfg, ctx, feed = run.cfg, run.ctx, run.feed
    running = 0.0
    epoch = run.iteration // len(feed.loader)
    while run.iteration < cfg.iters:
        feed.sampler.set_epoch(epoch)
        feed.data.set_epoch(epoch)
        for batch in feed.loader:
            if run.iteration >= cfg.iters:
                break
            loss, main_loss = _step(run, batch)
            run.iteration += 1
            it = run.iteration
            running += float(main_loss.detach())
            if it % cfg.log_every == 0 or it == cfg.iters:
                _log_train(run, running / ((it - 1) % cfg.log_every + 1))
                running = 0.0
            if on_progress is not None and ctx.is_main:
                on_progress(it, cfg.iters, float(loss.detach()))
            if cfg.val_every and it % cfg.val_every == 0 and it < cfg.iters:
                run.last_miou = _run_validation(run)
            if ctx.is_main and cfg.ckpt_every and it % cfg.ckpt_every == 0:
                run.save(checkpoint.LAST)
        epoch += 1


def _step(run: _Run, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step (and EMA update) on `batch`; returns the (total, main) loss. xyz is
    computed here, on the device, from the augmented depth and intrinsics."""
    ctx, state = run.ctx, run.state
    color = batch["color"].to(ctx.device, non_blocking=True)
    depth = batch["depth"].to(ctx.device, non_blocking=True)
    label = batch["label"].to(ctx.device, non_blocking=True)
    intr = batch["intrinsics"].to(ctx.device)
    image = normalize_color(color)
    xyz = hha.depth_to_xyz(depth, intr).to(torch.float32)
    amp_ctx = torch.autocast(ctx.device.type, dtype=torch.float16) if run.use_amp else contextlib.nullcontext()
    with amp_ctx:
        out = run.model(image, xyz)
    loss, main_loss = segmentation_loss(out, label, run.cfg.aux_weight, run.feed.class_weight)
    if run.teacher is not None:
        with amp_ctx:
            loss = mixed_loss(loss, out, run.teacher, image, xyz, image_mask(color, depth))
    if not torch.isfinite(loss):
        raise SGNetUserError(
            f"the loss became {loss.item()} at iteration {run.iteration}; lower --lr (now {run.cfg.lr}) "
            "or check the data"
        )
    state.opt.zero_grad(set_to_none=True)
    state.scaler.scale(loss).backward()
    if run.iteration < run.cfg.head_first:
        for p in run.held:  # SGD skips a parameter without a gradient: no step, no decay, no momentum
            p.grad = None
    state.scaler.step(state.opt)
    state.scaler.update()
    state.sched.step()
    if state.ema is not None:
        state.ema.update_parameters(state.net)
    return loss, main_loss


def _log_train(run: _Run, mean_loss: float) -> None:
    """A train.csv row; the loss is averaged over ranks (a collective, so every rank calls it)."""
    total = distributed.all_reduce_sum(torch.tensor([mean_loss], device=run.ctx.device))
    run.log.row("train", {"iteration": run.iteration, "lr": run.state.opt.param_groups[0]["lr"],
                          "loss": float(total) / run.ctx.world_size,
                          "seconds": time.perf_counter() - run.t0})


def _run_validation(run: _Run) -> float | None:
    """Validate the shipped weights (the EMA when there is one), log a val.csv row and, on a new
    best mIoU, write best.pt. Every rank takes part: the confusion matrices are summed."""
    if run.val_set is None:
        return None
    cfg, ctx, ema = run.cfg, run.ctx, run.state.ema
    _sync_buffers(run.model, ctx)
    m = validate(run.model if ema is None else ema.module, run.val_set, ctx, cfg.num_classes, cfg.val_limit)
    # mIoU over the classes the validation labels hold (sgnet eval's "over the N ground-truth classes"): on
    # a small set that lacks a class, a few stray pixels of it would otherwise count as a 0 in the mean
    row = {"iteration": run.iteration, "miou": m.miou_gt, "pixel_acc": m.pixel_acc,
           "mean_class_acc": m.mean_class_acc}
    if ema is not None:  # the columns above score the EMA (the shipped weights); this one the raw weights
        row["raw_miou"] = validate(run.model, run.val_set, ctx, cfg.num_classes, cfg.val_limit).miou_gt
    if ctx.is_main:
        run.log.row("val", row)
        if run.best is None or m.miou_gt > run.best:
            run.best = m.miou_gt
            run.save(checkpoint.BEST)
    return m.miou_gt


def _finish(run: _Run) -> TrainSummary:
    """Final last.pt and weights files, then the cross-rank weight check and summary.json."""
    cfg, ctx, out = run.cfg, run.ctx, run.out
    _sync_buffers(run.model, ctx)
    if ctx.is_main:
        run.save(checkpoint.LAST)
        source = f"sgnet train ({cfg.data_label}), {run.iteration} iterations"
        checkpoint.save_final_weights(out, run.state, source, cfg.ema_decay)
    prints = _gather_strings(fingerprint(run.model), ctx)
    summary = TrainSummary(run.iteration, run.best, run.last_miou, time.perf_counter() - run.t0, ctx.world_size,
                           prints, run.initial, str(out))
    if ctx.is_main:
        (out / "summary.json").write_text(json.dumps(asdict(summary), indent=1) + "\n")
        if len(set(prints)) != 1:
            print("sgnet train: WARNING: the ranks ended with different weights", prints)
    run.log.close()
    return summary


def describe_miou(m: float | None) -> str:
    return "n/a (no test split)" if m is None or (isinstance(m, float) and math.isnan(m)) else f"{100 * m:.1f} %"


__all__ = [
    "TrainConfig", "TrainSummary", "check_config", "describe_miou", "fingerprint", "segmentation_loss",
    "train", "validate",
]
