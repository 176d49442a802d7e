"""Export once, run many times: exported networks cached by weights, size, engine and precision.

`engine="onnxruntime"` with a checkpoint exports the network the first time it meets an input
size and keeps the file in `cache_dir()` (`$SGNET_CACHE`, else `~/.cache/sgnet-live/engines`);
the next run with the same weights (hashed, SHA-256 of the file or of the state dict), size,
engine, precision and S-Conv path loads it without exporting. `no_cache=True` exports into a
temporary folder that goes away with the engine.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from sgnet.engines import lookup
from sgnet.engines.export import ENGINE_SCONV, export, get_format, project_version

ENV_VAR = "SGNET_CACHE"


def cache_dir() -> Path:
    """Where exported engines are kept: `$SGNET_CACHE`, else `~/.cache/sgnet-live/engines`."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sgnet-live" / "engines"


def file_sha(path: str | Path) -> str:
    """SHA-256 (16 hex digits) of a file's contents."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def weights_hash(loaded) -> str:
    """SHA-256 (16 hex digits) of the weights file, or of the state dict for weights not from a file."""
    if loaded.weights is not None and Path(loaded.weights).is_file():
        return file_sha(loaded.weights)
    h = hashlib.sha256()
    for name, t in loaded.net.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().to("cpu").contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class CachedExport:
    """An exported file for one engine; `exported` says whether this call wrote it."""

    path: Path
    exported: bool
    keep: tempfile.TemporaryDirectory | None = None  # the no-cache folder, removed with this object


def cached_export(loaded, size: tuple[int, int], engine: str, precision: str = "fp32", no_cache: bool = False,
                  on_export: Callable[[str], None] | None = None, int8_frames: list | None = None,
                  calibration: str = "", int8_max_drop: float | None = 0.01) -> CachedExport:  # fmt: skip
    """The exported file `engine` runs for `loaded` at `size`, exported now unless cached.

    precision "int8" needs `int8_frames` (calibration inputs) and a `calibration` name for the key.
    `on_export(message)` is told before an export starts (they take seconds to minutes).
    """
    entry = lookup(engine)
    fmt = get_format(entry.format)
    sconv = ENGINE_SCONV.get(engine, fmt.sconv)
    # fp16/bf16 on a CPU are runtime hints on an fp32 file; TensorRT builds fp16 from an fp16 export
    file_precision = precision if precision == "int8" or (precision == "fp16" and engine == "tensorrt") else "fp32"
    h, w = size
    key = hashlib.sha256(
        f"{weights_hash(loaded)}|{h}x{w}|{entry.format}|{file_precision}|{sconv}|{calibration}|{int8_max_drop}|"
        f"{project_version()}|{torch.__version__}".encode()
    ).hexdigest()[:12]
    name = f"{loaded.name}-{h}x{w}-{engine}-{file_precision}-{sconv}-{key}{fmt.suffix}"
    options = {"sconv": sconv}
    if file_precision == "int8":
        options["int8_frames"] = int8_frames
        options["int8_max_drop"] = int8_max_drop
    if file_precision == "fp16":
        options["fp16"] = True
    keep = None
    if no_cache:
        keep = tempfile.TemporaryDirectory(prefix="sgnet-engine-")
        folder = Path(keep.name)
    else:
        folder = cache_dir()
        path = folder / name
        if path.is_file() and (fmt.suffix != ".xml" or path.with_suffix(".bin").is_file()):
            return CachedExport(path, False)
    path = folder / name
    if on_export is not None:
        where = "a temporary folder (no cache)" if no_cache else str(folder)
        on_export(f"exporting {loaded.name} at {h}x{w} for {engine} ({file_precision}, S-Conv {sconv}) into {where}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        from sgnet.errors import SGNetUserError

        raise SGNetUserError(f"cannot create the engine cache {folder}: {e.strerror or e} (set {ENV_VAR} to "
                             "another folder, or use no_cache / --no-cache)") from None
    export(fmt.name, loaded, size, path, **options)
    return CachedExport(path, True, keep)


class SizedEngines:
    """A non-torch engine for a checkpoint, callable like the network: `logits = runner(image, xyz)`.

    A static export runs one input size, so each new size is exported once (cached) and opened on
    first use; what `Segmenter`, `sgnet.evaluate.predict_logits` (one export per test scale) and the
    benchmarks call.
    """

    def __init__(self, loaded, engine: str, device, precision: str = "fp32", no_cache: bool = False,
                 on_export: Callable[[str], None] | None = None, int8_frames: list | None = None,
                 calibration: str = "", int8_max_drop: float | None = 0.01) -> None:  # fmt: skip
        self.loaded = loaded
        self.engine = engine
        self.device = device
        self.precision = precision
        self.no_cache = no_cache
        self.on_export = on_export
        self.int8_frames = int8_frames
        self.calibration = calibration
        self.int8_max_drop = int8_max_drop
        self.engines: dict[tuple[int, int], object] = {}
        self.exports: dict[tuple[int, int], CachedExport] = {}  # a no-cache folder lives as long as its engine

    def for_size(self, size: tuple[int, int]):
        engine = self.engines.get(size)
        if engine is None:
            export = cached_export(self.loaded, size, self.engine, self.precision, self.no_cache, self.on_export,
                                   self.int8_frames, self.calibration, self.int8_max_drop)
            load_precision = "fp32" if self.precision == "int8" else self.precision
            engine = lookup(self.engine).load(export.path, self.device, load_precision, cache=not self.no_cache,
                                              on_build=self.on_export)
            self.exports[size] = export
            self.engines[size] = engine
        return engine

    @property
    def info(self):
        from sgnet.engines.base import EngineInfo

        if self.engines:
            return list(self.engines.values())[-1].info
        return EngineInfo(self.engine, self.precision, "exported on first use")

    def eval(self) -> SizedEngines:  # evaluation code calls model.eval()
        return self

    def __call__(self, image: torch.Tensor, xyz: torch.Tensor) -> torch.Tensor:
        return self.for_size(tuple(image.shape[-2:]))(image, xyz)
