"""SGNet: the model zoo (official SGNet-R101/-ASPP/-R50 and light variants), official
checkpoint loading, the `Segmenter` engine, evaluation and benchmarks.

    import sgnet
    seg = sgnet.Segmenter("sgnet_r101", weights="SGNet.pth.tar", device="cuda")
    result = seg.segment(frame)          # sgnet.frames.RGBDFrame -> sgnet.frames.Segmentation

The frame types (`sgnet.frames`) and errors (`sgnet.errors`) import without torch, so the app,
its sources and `--help` stay light; the names below that need torch (models, weights, the
Segmenter) are loaded on first use (PEP 562), and the models register themselves when the
registry is first imported (`sgnet.models`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sgnet.errors import (
    DatasetError,
    DeviceUnavailableError,
    FrameRejectedError,
    SGNetUserError,
    UnknownModelError,
    UnsafeCheckpointError,
    WeightsFileError,
    WeightsMismatchError,
)
from sgnet.frames import Intrinsics, RGBDFrame, Segmentation

if TYPE_CHECKING:
    from sgnet.models.registry import create_model, list_models, model_info, register_model
    from sgnet.segmenter import Segmenter
    from sgnet.weights import load_weights, read_checkpoint, save_weights

_LAZY = {
    "Segmenter": "sgnet.segmenter",
    "create_model": "sgnet.models.registry",
    "list_models": "sgnet.models.registry",
    "model_info": "sgnet.models.registry",
    "register_model": "sgnet.models.registry",
    "load_weights": "sgnet.weights",
    "read_checkpoint": "sgnet.weights",
    "save_weights": "sgnet.weights",
}


# submodules reachable as attributes (`sgnet.models.SGNet`) without importing them first, as
# when this file imported them eagerly
_SUBMODULES = frozenset(
    ("bench", "data", "device", "evaluate", "forward", "metrics", "models", "preprocess", "registry", "segmenter",
     "train", "weights", "weights_sniff")
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(f"sgnet.{name}")  # the import system sets the attribute itself
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sgnet' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = [
    "DatasetError",
    "DeviceUnavailableError",
    "FrameRejectedError",
    "Intrinsics",
    "RGBDFrame",
    "SGNetUserError",
    "Segmentation",
    "Segmenter",
    "UnknownModelError",
    "UnsafeCheckpointError",
    "WeightsFileError",
    "WeightsMismatchError",
    "create_model",
    "list_models",
    "load_weights",
    "model_info",
    "read_checkpoint",
    "register_model",
    "save_weights",
]
