"""What a training run is asked to do (`TrainConfig`), what it reports (`TrainSummary`), and
the checks that need no data, run before anything starts so a mistake is one line: every
number, the device, the model name, and the files --weights / --resume would read."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from assets.classes import ClassSet, ClassSetError, get_class_set
from sgnet.errors import SGNetUserError
from sgnet.train.class_weights import CLASS_WEIGHTINGS


def as_folders(value: str | tuple[str, ...]) -> tuple[str, ...]:
    """One folder or several, as a tuple (--data and --val-data repeat)."""
    return (value,) if isinstance(value, str) else tuple(value)


def has_test_list(folder: str) -> bool:
    """Whether a folder has a test split: a test.txt (all of its images together are not one)."""
    return (Path(folder) / "test.txt").is_file()


@dataclass(frozen=True)
class TrainConfig:
    data: str | tuple[str, ...]  # one NYUDv2-format folder, or several trained on as one
    out: str = "runs/train"
    model: str = "sgnet_lite"
    model_kwargs: dict = field(default_factory=dict)
    classes: str = "nyu40"  # the class set trained into: nyu40, nyu13, sunrgbd37 or a JSON file
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
    sensor_color: float = 0.0  # 0..1: a real camera's colour pipeline (sgnet.train.sensor_augment)
    sensor_depth: float = 0.0  # 0..1: a real sensor's depth (in-painted, quantised, holes)
    fill_holes: float = 0.0  # 0..1: share of samples whose depth holes are in-painted (NYUv2's labelled set)
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
    depth_scale: float | None = None  # None: each dataset reader's own (NYUDv2 mm, TUM x5000, ...)
    sync_bn: bool = False
    tensorboard: bool = False
    val_data: str | tuple[str, ...] | None = None  # folders whose test split validates (default: data)
    ema_decay: float = 0.0  # 0: off; else an EMA of the weights is validated and saved as model.safetensors
    # soft targets (sgnet.train.soft_targets): a teacher in the loop, its share of the loss and temperature
    teacher_model: str | None = None
    teacher_weights: str | None = None
    soft_weight: float = 0.0  # 0: hard labels only
    temperature: float = 1.0
    # the first N iterations train only the tensors --weights did not provide (a new class set's head),
    # then everything: a head fitted to the features before they move (linear probing, then fine-tuning)
    head_first: int = 0

    @property
    def data_folders(self) -> tuple[str, ...]:
        return as_folders(self.data)

    @property
    def class_set(self) -> ClassSet:
        """The class set trained into (`classes` read; a built-in one is cached)."""
        try:
            return get_class_set(self.classes)
        except ClassSetError as e:
            raise SGNetUserError(f"--classes: {e}") from None

    @property
    def num_classes(self) -> int:
        return self.class_set.num_classes

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


# (field, option, smallest value): counts that torch or the loop would otherwise reject with a
# traceback mid-setup (batch size, workers, seed), or get wrong without a word (a negative period)
_AT_LEAST = (
    ("iters", "--iters", 1), ("batch_size", "--batch-size", 1), ("log_every", "--log-every", 1),
    ("workers", "--workers", 0), ("warmup", "--warmup", 0), ("val_every", "--val-every", 0),
    ("ckpt_every", "--ckpt-every", 0), ("seed", "--seed", 0), ("head_first", "--head-first", 0),
)
# (field, option, range): amounts whose sign or size would make the loss or images meaningless
_IN_RANGE = (
    ("weight_decay", "--weight-decay", (0.0, math.inf)), ("aux_weight", "--aux-weight", (0.0, math.inf)),
    ("color_jitter", "--color-jitter", (0.0, 1.0)), ("soft_weight", "--soft", (0.0, 1.0)),
    ("sensor_color", "--sensor-color", (0.0, 1.0)), ("sensor_depth", "--sensor-depth", (0.0, 1.0)),
    ("fill_holes", "--fill-holes", (0.0, 1.0)),
)
DEVICES = ("auto", "cpu", "cuda")  # under torchrun each process takes GPU LOCAL_RANK


def _check_numbers(cfg: TrainConfig) -> None:
    for name, option, least in _AT_LEAST:
        value = getattr(cfg, name)
        if value < least:
            raise SGNetUserError(f"{option} must be {'at least 1' if least else '0 or more'}, got {value}")
    for name, option, (lo, hi) in _IN_RANGE:
        value = getattr(cfg, name)
        if not (lo <= value <= hi):
            bound = "0 or more" if hi == math.inf else f"between {lo:g} and {hi:g}"
            raise SGNetUserError(f"{option} must be {bound}, got {value}")
    if not (cfg.temperature > 0 and math.isfinite(cfg.temperature)):
        raise SGNetUserError(f"--temperature must be positive (1: the teacher's own), got {cfg.temperature}")
    if cfg.soft_weight > 0 and cfg.teacher_model is None and cfg.teacher_weights is None:
        raise SGNetUserError("--soft needs a teacher (sgnet distill --teacher)")
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        raise SGNetUserError(f"--lr must be a positive learning rate such as 0.01, got {cfg.lr}")
    if cfg.head_first and not cfg.weights:
        raise SGNetUserError("--head-first first trains the layers the starting weights do not fit: it needs them "
                             "(--weights; sgnet distill: --student-weights)")
    if cfg.head_first > cfg.iters:
        raise SGNetUserError(f"--head-first ({cfg.head_first}) is more than --iters ({cfg.iters}); --head-first "
                             "equal to --iters trains the new head alone")
    if cfg.val_limit is not None and cfg.val_limit < 1:
        raise SGNetUserError(f"--val-limit must be a number of test images (0: all), got {cfg.val_limit}")
    lo, hi = cfg.scale_range
    if not (0 < lo <= hi):
        raise SGNetUserError(f"need 0 < --scale-min <= --scale-max, got {lo} and {hi}")
    if cfg.depth_scale is not None and not (cfg.depth_scale > 0):
        raise SGNetUserError(f"--depth-scale must be positive metres per depth unit, got {cfg.depth_scale}")


def _check_files(cfg: TrainConfig) -> None:
    """--weights and the checkpoint --resume would read, judged from their first bytes (a text
    file, random bytes or a truncated file is named now, not after the data is read)."""
    from sgnet.weights import sniff_weights

    if cfg.weights:
        sniff_weights(cfg.weights)
    last = Path(cfg.out) / "last.pt"
    if cfg.resume and last.exists():
        sniff_weights(last)


def _check_head_first(cfg: TrainConfig) -> None:
    """--head-first needs a layer the weights do not give (it is for a new class set's head)."""
    from sgnet.registry import create_model
    from sgnet.weights import load_weights

    model = create_model(cfg.model, num_classes=cfg.num_classes, **cfg.model_kwargs)
    fresh = set(load_weights(model, cfg.weights, strict=False).filled)
    if not any(name in fresh for name, _ in model.named_parameters()):
        raise SGNetUserError(f"--head-first: every layer of {cfg.model} comes from {cfg.weights}, so there is no "
                             "new layer to train first (it is for a new class set's head); leave it out")


def check_config(cfg: TrainConfig) -> None:
    """The option checks that need no data: one line per mistake, before anything starts."""
    from sgnet.registry import model_info

    _check_numbers(cfg)
    if cfg.device not in DEVICES:
        raise SGNetUserError(f"--device must be {', '.join(DEVICES[:-1])} or {DEVICES[-1]}, got {cfg.device!r}")
    model_info(cfg.model)  # an unknown name is one line now, not after the data is read
    if "num_classes" in cfg.model_kwargs:
        raise SGNetUserError(
            "--model-args num_classes: the classes come from --classes (nyu40, nyu13, sunrgbd37 or a class set "
            "JSON naming them, see docs/classes.md), e.g. --classes nyu13 for 13 classes"
        )
    cfg.class_set  # an unknown or broken class set is one line now  # noqa: B018
    _check_files(cfg)
    if cfg.head_first:
        _check_head_first(cfg)
    if cfg.class_weighting not in CLASS_WEIGHTINGS:
        choices = ", ".join(CLASS_WEIGHTINGS)
        raise SGNetUserError(f"--class-weights must be one of {choices}, got {cfg.class_weighting!r}")
    if not (cfg.ema_decay == 0 or 0 < cfg.ema_decay <= 1):
        raise SGNetUserError(f"--ema must be a decay in (0, 1], e.g. 0.9998, or 0 for off; got {cfg.ema_decay}")
