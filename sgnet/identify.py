"""Which model a weights file is for: its metadata's word or its key layout, checked by building
the model on PyTorch's meta device (no memory, tens of ms) and matching every tensor.

This is what lets `--weights FILE` work without `--model`, and what a mismatch message uses to
name the model the file does fit ("these weights fit sgnet_r50 (official SGNet_Res50)").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from assets.classes import ClassSet
from sgnet.errors import SGNetUserError, WeightsMismatchError
from sgnet.weights import Checkpoint, match_state_dict, strip_prefixes

# The released SGNet files (the authors' names) and the registered model each one builds.
OFFICIAL_NAMES = {"sgnet_r101": "SGNet", "sgnet_r101_aspp": "SGNet_ASPP", "sgnet_r50": "SGNet_Res50"}
_BUILD_ONLY = ("aux", "fps")  # structure switches the deploy build sets itself


@dataclass(frozen=True)
class ModelGuess:
    """The model a weights file was most likely saved from."""

    name: str
    kwargs: dict
    num_classes: int | None  # None when neither the metadata nor a classifier tells
    classes: ClassSet | None = None  # the class set the metadata names


_CLASSIFIER_BIASES = ("dsn4.3.bias", "head.1.bias", "decoder.classifier.bias")


def _classes_from_keys(sd: Mapping[str, torch.Tensor]) -> int | None:
    """The number of classes from the final classifier's bias, whichever head the model has."""
    for key in _CLASSIFIER_BIASES:
        if key in sd:
            return int(sd[key].shape[0])
    return None


def guess_model(ckpt: Checkpoint) -> ModelGuess:
    """The model (name, options, classes) a checkpoint was most likely saved from: its metadata
    if it names one, else the key layout (ASPP head, layer3 depth, light-model stem/decoder,
    dsn3) and the classifier's shape. The one place weights files are recognised."""
    sd = strip_prefixes(ckpt.state_dict)
    classes = ckpt.num_classes or _classes_from_keys(sd)
    if ckpt.model_name:
        kwargs = {}
        raw = ckpt.meta.get("model_kwargs")
        if raw:
            try:
                kwargs = dict(json.loads(raw))
            except (ValueError, TypeError):
                kwargs = {}
        return ModelGuess(ckpt.model_name, kwargs, classes, ckpt.classes)
    keys = sd.keys()
    aux = any(k.startswith("dsn3.") for k in keys)
    if any(k.startswith("stem.") for k in keys):
        name = "sgnet_lite" if any(k.startswith("decoder.") for k in keys) else "sgnet_r18"
    elif any(k.startswith("head.0.") for k in keys):
        name = "sgnet_r101_aspp"
    elif any(k.startswith("layer3.22.") for k in keys):
        name = "sgnet_r101"
    elif any(k.startswith("layer3.5.") for k in keys):
        name = "sgnet_r50"
    else:
        raise WeightsMismatchError(
            f"cannot tell which model these {len(keys)} tensors belong to; pass the model name explicitly"
        )
    return ModelGuess(name, {"aux": aux}, classes)


def classes_in_file(ckpt: Checkpoint) -> int | None:
    """The number of classes a file's model predicts: its metadata, else its classifier's shape."""
    return ckpt.num_classes or _classes_from_keys(strip_prefixes(ckpt.state_dict))


def fits(name: str, kwargs: Mapping, num_classes: int, ckpt: Checkpoint) -> bool:
    """Whether `ckpt` loads strictly into the deploy build of `name` (built on the meta device)."""
    from sgnet.registry import create_deploy_model

    options = {k: v for k, v in kwargs.items() if k not in _BUILD_ONLY}
    try:
        with torch.device("meta"):
            net = create_deploy_model(name, num_classes=num_classes, **options)
        match_state_dict(net, ckpt)
    except (WeightsMismatchError, SGNetUserError, TypeError, ValueError, RuntimeError):
        return False
    return True


def identify_model(ckpt: Checkpoint) -> ModelGuess | None:
    """The registered model `ckpt` loads into: the metadata's or key layout's guess if it fits,
    else the first registered model that does; None when none does."""
    from sgnet.registry import list_models

    classes = classes_in_file(ckpt) or 40
    try:
        guess = guess_model(ckpt)
    except WeightsMismatchError:
        guess = None
    if guess is not None and fits(guess.name, guess.kwargs, guess.num_classes or classes, ckpt):
        return guess
    for name in list_models():
        if (guess is None or name != guess.name) and fits(name, {}, classes, ckpt):
            return ModelGuess(name, {}, classes, ckpt.classes)
    return None


def model_title(name: str) -> str:
    """ "official SGNet_Res50 (sgnet_r50)" for the released architectures, else the name."""
    official = OFFICIAL_NAMES.get(name)
    return f"official {official} ({name})" if official else name


def describe_weights(path: str | Path, guess: ModelGuess, classes: ClassSet) -> str:
    """The one line said when a model is built from a file:
    "weights SGNet_Res50.pth.tar: official SGNet_Res50 (sgnet_r50), NYUv2-40 (40 classes)"."""
    return f"weights {Path(path).name}: {model_title(guess.name)}, {classes.describe()}"


def identify_or_fail(ckpt: Checkpoint, path: str | Path) -> ModelGuess:
    """`identify_model`, or the one line saying the file fits no registered model."""
    found = identify_model(ckpt)
    if found is None:
        raise WeightsMismatchError(
            f"{path} fits none of the registered models ({len(ckpt.state_dict)} tensors; see `sgnet info`); "
            "is it an SGNet checkpoint?"
        )
    return found


def naming_the_fitting_model(e: WeightsMismatchError, ckpt: Checkpoint) -> WeightsMismatchError:
    """A mismatch line that ends with the model the file does fit, or says it fits none."""
    found = identify_model(ckpt)
    if found is None:
        tail = "; the file fits none of the registered models (see `sgnet info`)"
    else:
        tail = (f"; these weights fit {model_title(found.name)}: use that model (--model {found.name}), or leave "
                "the model out to take it from the file")
    return WeightsMismatchError(str(e).replace("; use the model these weights were made for", "") + tail)
