"""SGNet: the model zoo (official SGNet-R101/-ASPP/-R50 and light variants), official
checkpoint loading, the `Segmenter` engine, evaluation and benchmarks.

    import sgnet
    seg = sgnet.Segmenter("sgnet_r101", weights="SGNet.pth.tar", device="cuda")
    result = seg.segment(frame)          # app.frames.RGBDFrame -> app.frames.Segmentation
"""

from sgnet import models  # noqa: F401  (registers the built-in models; sgnet.registry never imports them)
from sgnet.errors import (
    DatasetError,
    DeviceUnavailableError,
    SGNetUserError,
    UnknownModelError,
    UnsafeCheckpointError,
    WeightsFileError,
    WeightsMismatchError,
)
from sgnet.registry import create_model, list_models, model_info, register_model
from sgnet.segmenter import Segmenter
from sgnet.weights import load_weights, read_checkpoint, save_weights

__all__ = [
    "DatasetError",
    "DeviceUnavailableError",
    "SGNetUserError",
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
