"""What a training run is asked to do (`TrainConfig`), what it reports (`TrainSummary`), and
the checks that need no data, run before anything starts so a mistake is one line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sgnet.errors import SGNetUserError
from sgnet.train.class_weights import CLASS_WEIGHTINGS


def as_folders(value: str | tuple[str, ...]) -> tuple[str, ...]:
    """One folder or several, as a tuple (--data and --val-data repeat)."""
    return (value,) if isinstance(value, str) else tuple(value)


def has_test_list(folder: str) -> bool:
    """Whether a folder lists its test split (without one it would list every image)."""
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
        return as_folders(self.data)

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


def check_config(cfg: TrainConfig) -> None:
    """The option checks that need no data: one line per mistake, before anything starts."""
    if cfg.iters < 1:
        raise SGNetUserError(f"--iters must be at least 1, got {cfg.iters}")
    if cfg.class_weighting not in CLASS_WEIGHTINGS:
        choices = ", ".join(CLASS_WEIGHTINGS)
        raise SGNetUserError(f"--class-weights must be one of {choices}, got {cfg.class_weighting!r}")
    if not (cfg.ema_decay == 0 or 0 < cfg.ema_decay <= 1):
        raise SGNetUserError(f"--ema must be a decay in (0, 1], e.g. 0.9998, or 0 for off; got {cfg.ema_decay}")
