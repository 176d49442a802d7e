"""Checkpoints of `sgnet train`: `last.pt` / `best.pt`, `--resume`, and the final weights files.

A checkpoint is one `torch.save`d dict of plain tensors, numbers and strings, so it loads with
`torch.load(weights_only=True)` (no pickled code) and `sgnet.load_weights` reads its `model`
entry like any of our `.pt` files. Its keys are a file format: runs written by older versions
must keep resuming, so add keys rather than rename them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from assets.classes import ClassSet, ClassSetError
from sgnet.errors import WeightsFileError
from sgnet.train.ema import make_ema
from sgnet.weights import FORMAT, model_classes, save_weights, sniff_weights, weights_metadata

if TYPE_CHECKING:
    from sgnet.train.config import TrainConfig

LAST = "last.pt"  # every --ckpt-every iterations, at the end and on Ctrl-C; what --resume reads
BEST = "best.pt"  # at the best validation mIoU so far


@dataclass
class Trainables:
    """The objects whose state a checkpoint holds. `net` is the bare model, not a DDP wrapper,
    so the saved keys carry no `module.` prefix and load into a model built without DDP."""

    net: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    ema: AveragedModel | None = None


@dataclass(frozen=True)
class ResumedState:
    """Where a run starts: iteration 0 and no best mIoU for a fresh run. `ema` is the saved
    average's state dict, None when the checkpoint had none (the EMA then starts afresh)."""

    iteration: int = 0
    best_miou: float | None = None
    ema: dict[str, torch.Tensor] | None = None


def atomic_save(obj: dict, path: Path) -> None:
    """Write to a temporary file and rename it, so Ctrl-C or a crash never leaves half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, str(tmp))
    os.replace(tmp, path)


def save_checkpoint(
    path: Path, state: Trainables, iteration: int, best_miou: float | None, cfg: TrainConfig
) -> None:
    """Everything `--resume` needs, plus the weights metadata that lets `load_weights` read it."""
    meta = weights_metadata(state.net, source=f"sgnet train ({cfg.data_label})")
    obj: dict = {k: v for k, v in meta.items() if k != "model"}
    obj.update(
        model=state.net.state_dict(), model_name=meta["model"], num_classes=cfg.num_classes, format=FORMAT,
        optimizer=state.opt.state_dict(), scheduler=state.sched.state_dict(), scaler=state.scaler.state_dict(),
        iteration=iteration, best_miou=best_miou, config=json.dumps(asdict(cfg)),
    )
    if state.ema is not None:
        obj["ema"] = state.ema.state_dict()
    atomic_save(obj, path)


_FIX = "delete it to start over, or pass another --out"


def load_checkpoint(path: Path, state: Trainables, device: torch.device) -> ResumedState:
    """Restore model, optimiser, scheduler and scaler in place; the EMA is returned, not
    restored, because it is built after the resumed weights (see `resume_ema`).

    A damaged `last.pt`, or one of another run (other model, classes or options), is one
    `WeightsFileError` line that names the file and the way out, never a traceback."""
    sniff_weights(path)  # text, random bytes, a cut zip: the same one line as for --weights
    try:
        saved = torch.load(str(path), map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a damaged zip/pickle
        raise WeightsFileError(f"cannot resume: {path} is damaged ({_first_line(e)}); {_FIX}") from None
    if not isinstance(saved, dict) or any(k not in saved for k in _RESUME_KEYS):
        raise WeightsFileError(f"cannot resume: {path} is not a sgnet train checkpoint (no {', '.join(_RESUME_KEYS)})")
    _check_same_classes(path, saved, state.net)
    try:
        state.net.load_state_dict(saved["model"])
        state.opt.load_state_dict(saved["optimizer"])
        state.sched.load_state_dict(saved["scheduler"])
        state.scaler.load_state_dict(saved["scaler"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise WeightsFileError(
            f"cannot resume: {path} was written by another run (other model, classes or options: "
            f"{_first_line(e)}); {_FIX}"
        ) from None
    return ResumedState(int(saved["iteration"]), saved.get("best_miou"), saved.get("ema"))


_RESUME_KEYS = ("model", "optimizer", "scheduler", "scaler", "iteration")


def _check_same_classes(path: Path, saved: dict, net: nn.Module) -> None:
    """Two class sets of the same size would load into each other without a word: compare names."""
    stored, current = saved.get("classes"), model_classes(getattr(net, "module", net))
    if not isinstance(stored, str) or not stored or current is None:
        return
    try:
        before = ClassSet.from_json(stored)
    except ClassSetError:
        return  # an unreadable set is caught as damage by the loads that follow, if it matters
    if before.names != current.names:
        raise WeightsFileError(
            f"cannot resume: {path} was trained into {before.describe()}, this run into {current.describe()} "
            f"(--classes); {_FIX}"
        )


def _first_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return (text[:160] + "...") if len(text) > 160 else text or type(e).__name__


def resume(out: Path, state: Trainables, device: torch.device, announce: bool) -> ResumedState:
    """`--resume`: continue from `out/last.pt` when there is one, else start from scratch
    (so the same command line both starts and continues a run)."""
    path = out / LAST
    if not path.exists():
        if announce:
            print(f"sgnet train: nothing to resume in {out} (no last.pt); starting from scratch")
        return ResumedState()
    resumed = load_checkpoint(path, state, device)
    if announce:
        print(f"sgnet train: resumed from {path} at iteration {resumed.iteration}")
    return resumed


def resume_ema(net: nn.Module, decay: float, saved: dict[str, torch.Tensor] | None) -> AveragedModel | None:
    """The EMA for a run (None when off). It starts at `net`'s current weights, the resumed ones
    included, so `--ema` added on `--resume` averages from the checkpoint, not from the start;
    a saved average, when there is one, then replaces them."""
    ema = make_ema(net, decay)
    if ema is not None and saved is not None:
        ema.load_state_dict(saved)
    return ema


def save_final_weights(out: Path, state: Trainables, source: str, ema_decay: float) -> None:
    """`model.safetensors` is what gets shipped: the EMA when there is one, the raw weights
    otherwise; with an EMA the raw weights are kept beside it as `model_raw.safetensors`."""
    if state.ema is None:
        save_weights(state.net, out / "model.safetensors", source=source)
    else:
        save_weights(state.ema.module, out / "model.safetensors", source=f"{source}, EMA decay {ema_decay}")
        save_weights(state.net, out / "model_raw.safetensors", source=source)


__all__ = [
    "BEST", "LAST", "ResumedState", "Trainables", "atomic_save", "load_checkpoint", "resume", "resume_ema",
    "save_checkpoint", "save_final_weights",
]
