"""Model + weights + classes, built for inference in one step (what `Segmenter`, `sgnet eval` and
`sgnet-live` share), so every command answers the same three questions the same way:

- which model? The one named, else the one the weights file is for (`sgnet.identify`);
- which weights? The file given, else the weights shipped for that model; random weights only
  when asked for (`random_weights=True`) — an untrained network's labels mean nothing, and a
  user who forgot `--weights` should hear so, not see noise;
- which classes? The set stored in the weights, else the default for the number of outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from assets.classes import ClassSet
from sgnet.classes import model_class_set
from sgnet.errors import SGNetUserError, WeightsMismatchError
from sgnet.identify import ModelGuess, classes_in_file, describe_weights, identify_or_fail, naming_the_fitting_model
from sgnet.weights import load_checkpoint_into, read_checkpoint

# Weights shipped in the assets package, by model name (timm's "pretrained" tag, for the one
# model small enough to ship): trained on `sgnet synth` rooms, see the README's "Demo model".
BUNDLED = {"sgnet_lite": "sgnet_lite_synth.safetensors"}
EXPORTED_SUFFIXES = (".onnx", ".xml")  # `sgnet export` files: no torch network to build from them


def bundled_weights(model_name: str) -> Path | None:
    """The shipped weights file for `model_name`, or None when there is none (or it is missing)."""
    name = BUNDLED.get(model_name)
    if name is None:
        return None
    from assets import resource_path

    res = resource_path(name)
    return Path(str(res)) if res.is_file() else None


@dataclass(frozen=True)
class LoadedModel:
    """A deploy network with its weights loaded, and what the user should be told about it."""

    net: nn.Module
    name: str
    weights: Path | None  # None: random weights (asked for) or a module passed in as it is
    classes: ClassSet  # the set the network predicts
    shipped: bool  # the weights are the ones shipped with the project
    summary: str  # "weights X: official SGNet_Res50 (sgnet_r50), NYUv2-40 (40 classes)"


def _no_weights_error(name: str) -> SGNetUserError:
    return SGNetUserError(
        f"model {name} has no shipped weights: pass the weights file (e.g. the official .pth.tar, see the README's "
        "'Official SGNet weights'), or ask for untrained random weights explicitly (--random-weights)"
    )


def load_model(
    model: str | nn.Module | None,
    weights: str | Path | None = None,
    random_weights: bool = False,
    num_classes: int | None = None,
) -> LoadedModel:
    """Build the deploy network for inference (see the module docstring for the rules).

    model: a registered name, an nn.Module (used as it is unless weights are given), or None to
    take the model from the weights file. num_classes: only for random weights (default 40)."""
    if random_weights and weights is not None:
        raise SGNetUserError("random weights were asked for and a weights file given: pick one")
    if weights is not None and Path(weights).suffix.lower() in EXPORTED_SUFFIXES:  # sgnet.engines.files reads them
        raise SGNetUserError(
            f"{Path(weights).name} is an exported network: sgnet-live, sgnet eval, sgnet bench model and "
            "sgnet.Segmenter run it (the file picks its engine); this needs the checkpoint it was exported from"
        )
    if isinstance(model, nn.Module):
        return _from_module(model, weights)
    if model is not None and not isinstance(model, str):
        raise SGNetUserError(f"model must be a model name or an nn.Module, got {type(model).__name__}")
    if model is not None:
        from sgnet.registry import model_info

        model_info(model)  # an unknown name says so (with close matches) before anything else
    if weights is None and not random_weights:
        if model is None:
            raise SGNetUserError("no model and no weights: name a model (e.g. sgnet_lite) or pass a weights file")
        weights = bundled_weights(model)
        if weights is None:
            raise _no_weights_error(model)
        return _from_file(model, weights, shipped=True)
    if weights is None:
        from sgnet.registry import create_deploy_model

        name = model or "sgnet_lite"
        net = create_deploy_model(name, num_classes=num_classes or 40)
        classes = model_class_set(None, net.num_classes)
        return LoadedModel(net, name, None, classes, False, f"{name} with random weights, {classes.describe()}")
    return _from_file(model, weights, shipped=False)


def _from_file(model: str | None, weights: str | Path, shipped: bool) -> LoadedModel:
    from sgnet.registry import create_deploy_model

    path = Path(weights)
    ckpt = read_checkpoint(path)
    if model is None:
        guess = identify_or_fail(ckpt, path)
    else:
        guess = ModelGuess(model, {}, classes_in_file(ckpt), ckpt.classes)
    net = create_deploy_model(guess.name, num_classes=guess.num_classes or 40)
    try:
        load_checkpoint_into(net, ckpt, path)
    except WeightsMismatchError as e:
        raise naming_the_fitting_model(e, ckpt) from None
    classes = model_class_set(ckpt.classes, net.num_classes, str(path))
    return LoadedModel(net, guess.name, path, classes, shipped, describe_weights(path, guess, classes))


def _from_module(net: nn.Module, weights: str | Path | None) -> LoadedModel:
    name = str(getattr(net, "sgnet_name", type(net).__name__))
    stored = getattr(net, "class_set", None)
    path = None
    if weights is not None:
        path = Path(weights)
        ckpt = read_checkpoint(path)
        load_checkpoint_into(net, ckpt, path)
        stored = ckpt.classes or stored
    n = int(getattr(net, "num_classes", 0) or (stored.num_classes if stored else 40))
    classes = model_class_set(stored, n, str(path) if path else name)
    summary = f"{name}, {classes.describe()}" + (f", weights {path.name}" if path else "")
    return LoadedModel(net, name, path, classes, False, summary)
