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
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

import hha
from sgnet.data import concat_datasets, open_dataset
from sgnet.errors import SGNetUserError
from sgnet.evaluate import predict_logits, prepare_sample
from sgnet.metrics import confusion_matrix, scores
from sgnet.preprocess import normalize_color
from sgnet.registry import create_model
from sgnet.train import distributed
from sgnet.train.augment import IGNORE_INDEX, AugmentConfig
from sgnet.train.class_weights import CLASS_WEIGHTINGS, class_weights, label_histogram
from sgnet.train.dataset import TrainSet
from sgnet.train.ema import make_ema
from sgnet.train.schedule import poly_warmup_scheduler
from sgnet.weights import FORMAT, load_weights, save_weights, weights_metadata


def _as_folders(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _has_test_list(folder: str) -> bool:
    return (Path(folder) / "test.txt").is_file()


@dataclass(frozen=True)
class TrainConfig:
    data: str | tuple[str, ...]  # one NYUDv2-format folder, or several trained on as one
    out: str = "runs/train"
    model: str = "sgnet_lite"
    model_kwargs: dict = field(default_factory=dict)
    num_classes: int = 40
    iters: int = 2000
    batch_size: int = 8  # per process
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup: int = 50
    power: float = 0.9
    crop: tuple[int, int] | None = (240, 320)
    scale_range: tuple[float, float] = (0.5, 2.0)
    flip: bool = True
    color_jitter: float = 0.2
    aux_weight: float = 0.4
    class_weighting: str = "none"  # "none" | "sqrt" (see sgnet.train.class_weights)
    val_every: int = 0  # 0: validate once at the end
    val_limit: int | None = None
    ckpt_every: int = 200
    log_every: int = 10
    workers: int = 2
    seed: int = 0
    amp: bool | None = None  # None: on for CUDA
    device: str = "auto"
    weights: str | None = None  # initial weights (fine-tuning), loaded non-strictly
    resume: bool = False
    depth_scale: float = 0.001
    sync_bn: bool = False
    tensorboard: bool = False
    val_data: str | tuple[str, ...] | None = None  # folders whose test split validates (default: data)
    ema_decay: float = 0.0  # 0: off; else an EMA of the weights is validated and saved as model.safetensors

    @property
    def data_folders(self) -> tuple[str, ...]:
        return _as_folders(self.data)

    @property
    def data_label(self) -> str:
        """The training folders as one string, for messages and weight metadata."""
        return ", ".join(self.data_folders)


@dataclass
class TrainSummary:
    iterations: int
    best_miou: float | None
    last_miou: float | None
    seconds: float
    world_size: int
    rank_fingerprints: list[str]
    initial_fingerprint: str
    out: str


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


def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, str(tmp))
    os.replace(tmp, path)


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
    have a test.txt; None if there are none). Without test.txt a folder would list all of its
    images, training ones included, so such folders are skipped by default and refused as --val-data."""
    if not cfg.data_folders:
        raise SGNetUserError("no training data: pass at least one --data folder")
    train_set = concat_datasets(
        [open_dataset(d, split="train", depth_scale=cfg.depth_scale) for d in cfg.data_folders]
    )
    if len(train_set) < cfg.batch_size:
        raise SGNetUserError(
            f"{cfg.data_label}: the train split has {len(train_set)} samples, fewer than --batch-size {cfg.batch_size}"
        )
    if cfg.val_data is None:
        val_folders = [d for d in cfg.data_folders if _has_test_list(d)]
    else:
        val_folders = _as_folders(cfg.val_data)
        for d in val_folders:
            if Path(d).is_dir() and not _has_test_list(d):
                raise SGNetUserError(f"--val-data {d} has no test.txt; add one or pass a list file")
    val_parts = [open_dataset(d, split="test", depth_scale=cfg.depth_scale) for d in val_folders]
    return train_set, (concat_datasets(val_parts) if val_parts else None)


def check_config(cfg: TrainConfig) -> None:
    """The option checks that need no data: one line per mistake, before anything starts."""
    if cfg.iters < 1:
        raise SGNetUserError(f"--iters must be at least 1, got {cfg.iters}")
    if cfg.class_weighting not in CLASS_WEIGHTINGS:
        choices = ", ".join(CLASS_WEIGHTINGS)
        raise SGNetUserError(f"--class-weights must be one of {choices}, got {cfg.class_weighting!r}")
    if not (cfg.ema_decay == 0 or 0 < cfg.ema_decay <= 1):
        raise SGNetUserError(f"--ema must be a decay in (0, 1], e.g. 0.9998, or 0 for off; got {cfg.ema_decay}")


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


def _train(cfg: TrainConfig, ctx: distributed.DistContext, on_progress: ProgressFn | None) -> TrainSummary:
    out = Path(cfg.out)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
    train_set, val_set = _check_data(cfg)

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    model = create_model(cfg.model, num_classes=cfg.num_classes, **cfg.model_kwargs)
    if cfg.weights:
        res = load_weights(model, cfg.weights, strict=False)
        if ctx.is_main and res.dropped:
            print(f"sgnet train: {len(res.dropped)} tensors of {cfg.weights} do not fit {cfg.model} and were skipped")
    model.to(ctx.device)
    model.train()
    initial = fingerprint(model)
    if ctx.distributed:
        if cfg.sync_bn:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DistributedDataParallel(model, device_ids=[ctx.local_rank] if ctx.device.type == "cuda" else None)
    net = _unwrap(model)

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sched = poly_warmup_scheduler(opt, cfg.iters, cfg.warmup, cfg.power)
    use_amp = (ctx.device.type == "cuda") if cfg.amp is None else cfg.amp
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=use_amp and ctx.device.type == "cuda")

    start_iter, best, ema_state = 0, None, None
    last_path, best_path = out / "last.pt", out / "best.pt"
    if cfg.resume and last_path.exists():
        state = torch.load(str(last_path), map_location=ctx.device, weights_only=True)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start_iter = int(state["iteration"])
        best = state.get("best_miou")
        ema_state = state.get("ema")
        if ctx.is_main:
            print(f"sgnet train: resumed from {last_path} at iteration {start_iter}")
    elif cfg.resume and ctx.is_main:
        print(f"sgnet train: nothing to resume in {out} (no last.pt); starting from scratch")
    ema = make_ema(net, cfg.ema_decay)  # starts at the weights training starts from (resumed ones too)
    if ema is not None and ema_state is not None:
        ema.load_state_dict(ema_state)

    class_weight = None
    if cfg.class_weighting != "none":
        class_weight = class_weights(label_histogram(train_set, cfg.num_classes), cfg.class_weighting)
    if class_weight is not None:
        class_weight = class_weight.to(ctx.device)
        if ctx.is_main:
            (out / "class_weights.json").write_text(json.dumps([round(float(w), 4) for w in class_weight]) + "\n")
    aug = AugmentConfig(cfg.crop, cfg.scale_range, cfg.flip, cfg.color_jitter)
    data = TrainSet(train_set, aug, cfg.seed)
    sampler = DistributedSampler(data, ctx.world_size, ctx.rank, shuffle=True, seed=cfg.seed, drop_last=True)
    loader = DataLoader(
        data, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers, drop_last=True,
        pin_memory=ctx.device.type == "cuda", persistent_workers=False,
    )
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise SGNetUserError(
            f"{cfg.data_label}: {len(train_set)} training samples over {ctx.world_size} process(es) do not fill one "
            f"batch of {cfg.batch_size}; lower --batch-size"
        )
    log = _Logger(out, ctx.is_main, cfg.tensorboard, cfg.resume)

    def checkpoint(path: Path, iteration: int) -> None:
        meta = weights_metadata(net, source=f"sgnet train ({cfg.data_label})")
        obj = {k: v for k, v in meta.items() if k != "model"}
        obj.update(
            model=net.state_dict(), model_name=meta["model"], num_classes=cfg.num_classes, format=FORMAT,
            optimizer=opt.state_dict(), scheduler=sched.state_dict(), scaler=scaler.state_dict(),
            iteration=iteration, best_miou=best, config=json.dumps(asdict(cfg)),
        )
        if ema is not None:
            obj["ema"] = ema.state_dict()
        _atomic_save(obj, path)

    def run_validation(iteration: int) -> float | None:
        nonlocal best
        if val_set is None:
            return None
        _sync_buffers(model, ctx)
        m = validate(model if ema is None else ema.module, val_set, ctx, cfg.num_classes, cfg.val_limit)
        row = {"iteration": iteration, "miou": m.miou, "pixel_acc": m.pixel_acc, "mean_class_acc": m.mean_class_acc}
        if ema is not None:  # the columns above score the EMA (the shipped weights); this one the raw weights
            row["raw_miou"] = validate(model, val_set, ctx, cfg.num_classes, cfg.val_limit).miou
        if ctx.is_main:
            log.row("val", row)
            if best is None or m.miou > best:
                best = m.miou
                checkpoint(best_path, iteration)
        return m.miou

    t0 = time.perf_counter()
    it = start_iter
    last_miou = None
    running = 0.0
    try:
        epoch = it // steps_per_epoch
        while it < cfg.iters:
            sampler.set_epoch(epoch)
            data.set_epoch(epoch)
            for batch in loader:
                if it >= cfg.iters:
                    break
                color = batch["color"].to(ctx.device, non_blocking=True)
                depth = batch["depth"].to(ctx.device, non_blocking=True)
                label = batch["label"].to(ctx.device, non_blocking=True)
                intr = batch["intrinsics"].to(ctx.device)
                image = normalize_color(color)
                xyz = hha.depth_to_xyz(depth, intr).to(torch.float32)
                amp_ctx = (torch.autocast(ctx.device.type, dtype=torch.float16) if use_amp
                           else contextlib.nullcontext())
                with amp_ctx:
                    out_t = model(image, xyz)
                loss, main_loss = segmentation_loss(out_t, label, cfg.aux_weight, class_weight)
                if not torch.isfinite(loss):
                    raise SGNetUserError(
                        f"the loss became {loss.item()} at iteration {it}; lower --lr (now {cfg.lr}) or check the data"
                    )
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                sched.step()
                if ema is not None:
                    ema.update_parameters(net)
                it += 1
                running += float(main_loss.detach())
                if it % cfg.log_every == 0 or it == cfg.iters:
                    n = (it - 1) % cfg.log_every + 1
                    avg = distributed.all_reduce_sum(torch.tensor([running / n], device=ctx.device))
                    running = 0.0
                    log.row("train", {"iteration": it, "lr": opt.param_groups[0]["lr"],
                                      "loss": float(avg) / ctx.world_size,
                                      "seconds": time.perf_counter() - t0})
                if on_progress is not None and ctx.is_main:
                    on_progress(it, cfg.iters, float(loss.detach()))
                if cfg.val_every and it % cfg.val_every == 0 and it < cfg.iters:
                    last_miou = run_validation(it)
                if ctx.is_main and cfg.ckpt_every and it % cfg.ckpt_every == 0:
                    checkpoint(last_path, it)
            epoch += 1
        last_miou = run_validation(it)
    except KeyboardInterrupt:
        if ctx.is_main:
            checkpoint(last_path, it)
            print(f"sgnet train: interrupted at iteration {it}; saved {last_path} (continue with --resume)")
        log.close()
        raise
    _sync_buffers(model, ctx)
    if ctx.is_main:
        checkpoint(last_path, it)
        source = f"sgnet train ({cfg.data_label}), {it} iterations"
        if ema is None:
            save_weights(net, out / "model.safetensors", source=source)
        else:
            save_weights(ema.module, out / "model.safetensors", source=f"{source}, EMA decay {cfg.ema_decay}")
            save_weights(net, out / "model_raw.safetensors", source=source)
    prints = _gather_strings(fingerprint(model), ctx)
    summary = TrainSummary(it, best, last_miou, time.perf_counter() - t0, ctx.world_size, prints, initial, str(out))
    if ctx.is_main:
        (out / "summary.json").write_text(json.dumps(asdict(summary), indent=1) + "\n")
        if len(set(prints)) != 1:
            print("sgnet train: WARNING: the ranks ended with different weights", prints)
    log.close()
    return summary


def describe_miou(m: float | None) -> str:
    return "n/a (no test split)" if m is None or (isinstance(m, float) and math.isnan(m)) else f"{100 * m:.1f} %"


__all__ = [
    "TrainConfig", "TrainSummary", "check_config", "describe_miou", "fingerprint", "segmentation_loss",
    "train", "validate",
]
