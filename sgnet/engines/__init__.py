"""Inference engines: the network's forward through eager torch, ONNX Runtime, OpenVINO or TensorRT.

One table (`TABLE`) says, per engine, the module that runs it, the export format it reads, the
optional-dependency extra it needs (`pip install 'sgnet-live[onnx]'`) and whether it needs CUDA.
Every non-torch engine module provides

    FORMAT: str                                   # "onnx" or "openvino": what `export` writes for it
    def load(path: Path, device: torch.device, precision: str) -> Engine

and its `Engine` (see `sgnet.engines.base`) takes the prepared float32 (N, 3, H, W) image and xyz
and returns the main logits. `Segmenter(engine=...)` picks one; `sgnet.engines.export` writes the
files; `sgnet.engines.cache` exports once per (weights, size, engine, precision).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sgnet.engines.base import ENGINES, Engine, EngineInfo
from sgnet.errors import DeviceUnavailableError, SGNetUserError


class MissingExtraError(SGNetUserError):
    """An engine or export format whose optional packages are not installed (one line naming the extra)."""


@dataclass(frozen=True)
class EngineEntry:
    """One row of `TABLE`."""

    name: str  # one of ENGINES
    module: str
    extra: str = ""  # the pyproject extra that installs `packages`
    packages: tuple[str, ...] = ()  # top-level modules it imports
    format: str = ""  # the export format it runs ("" = the torch network itself)
    needs_cuda: bool = False
    title: str = ""  # for messages
    builds_plan: bool = False  # compiles the export into a cached plan of its own: takes cache= and on_build=

    def check(self, device_type: str = "cpu") -> None:
        """Raise one clear line when this engine cannot run here (missing extra, no CUDA)."""
        if self.needs_cuda:
            import torch

            if not torch.cuda.is_available():
                raise DeviceUnavailableError(f"engine {self.name} needs a CUDA GPU (none here); use --engine "
                                             "onnxruntime or openvino on a CPU")
        require(self.packages, self.extra, f"engine {self.name}")

    def load(self, path: Path, device, precision: str, cache: bool = True,
             on_build: Callable[[str], None] | None = None) -> Engine:  # fmt: skip
        """Open an exported file with this engine (checks first); `cache`/`on_build` reach an engine
        that builds a plan of its own (TensorRT: --no-cache, and a line before a minutes-long build)."""
        self.check(getattr(device, "type", "cpu"))
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as e:
            if e.name == self.module:
                raise SGNetUserError(f"engine {self.name} is not available in this version ({self.module} is "
                                     "missing)") from None
            raise
        if self.builds_plan:
            return module.load(Path(path), device, precision, cache=cache, on_build=on_build)
        return module.load(Path(path), device, precision)


TABLE: tuple[EngineEntry, ...] = (
    EngineEntry("torch", "sgnet.engines.torch_engine", title="PyTorch (eager)"),
    EngineEntry("onnxruntime", "sgnet.engines.onnxruntime_engine", "onnx", ("onnx", "onnxruntime"), "onnx",
                title="ONNX Runtime"),
    EngineEntry("openvino", "sgnet.engines.openvino_engine", "openvino", ("openvino",), "openvino",
                title="OpenVINO"),
    EngineEntry("tensorrt", "sgnet.engines.tensorrt_engine", "tensorrt", ("tensorrt",), "onnx", needs_cuda=True,
                title="TensorRT", builds_plan=True),
)
_BY_NAME = {e.name: e for e in TABLE}
assert tuple(_BY_NAME) == ENGINES

# exported files that pick their engine when given as weights
FILE_ENGINES = {".onnx": "onnxruntime", ".xml": "openvino"}


def lookup(name: str) -> EngineEntry:
    """The entry of an engine name, or one line listing the names."""
    entry = _BY_NAME.get(str(name).lower())
    if entry is None:
        raise SGNetUserError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    return entry


def require(packages: tuple[str, ...], extra: str, what: str) -> None:
    """One line naming the extra when one of `packages` does not import."""
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        raise MissingExtraError(f"{what} needs {', '.join(missing)} (not installed): pip install "
                                f"'sgnet-live[{extra}]'")


def engine_for_file(path: str | Path | None) -> str | None:
    """The engine an exported file runs with (by its suffix), None for checkpoints."""
    if path is None:
        return None
    return FILE_ENGINES.get(Path(path).suffix.lower())


def default_device(device, engine: str | None, weights: str | Path | None):
    """"auto" means the CPU for the CPU engines (a GPU machine would otherwise pick CUDA, which they refuse)."""
    name = engine if isinstance(engine, str) else None
    name = (name or engine_for_file(weights) or "torch").lower()
    cpu_only = {e.name for e in TABLE if e.format and not e.needs_cuda}
    return "cpu" if isinstance(device, str) and device == "auto" and name in cpu_only else device


__all__ = ["ENGINES", "FILE_ENGINES", "TABLE", "Engine", "EngineEntry", "EngineInfo", "MissingExtraError",
           "default_device", "engine_for_file", "lookup", "require"]
