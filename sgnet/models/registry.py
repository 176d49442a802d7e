"""A small timm-like model registry: `@register_model` factories, `create_model`, `list_models`.

Factories are plain functions `name(num_classes=40, **kw) -> nn.Module`; the function name is
the model name users type. `create_model` stamps the name and its arguments on the instance
(`model.sgnet_name`, `model.sgnet_kwargs`) so weights files can record what they belong to.

As in timm (`timm/models/_registry.py`), the registry lives inside the models package and never
imports a model (that made an import circle): importing this module first runs
`sgnet/models/__init__.py`, which imports every built-in model file, and each registers itself.
So any import of the registry, however it is reached, sees all built-in models.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from sgnet.errors import SGNetUserError, UnknownModelError

ModelFactory = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model without building it."""

    name: str
    factory: ModelFactory
    description: str
    official: bool  # architecture of a released SGNet checkpoint (loads the official .pth.tar)


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(fn: ModelFactory | None = None, *, official: bool = False):
    """Decorator: register a factory under its function name. Usable bare or with arguments."""

    def _register(f: ModelFactory) -> ModelFactory:
        name = f.__name__
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        doc = (f.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelInfo(name, f, doc[0] if doc else "", official)
        return f

    return _register(fn) if fn is not None else _register


def list_models(official_only: bool = False) -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(n for n, i in _REGISTRY.items() if i.official or not official_only)


def model_info(name: str) -> ModelInfo:
    """Registry entry of `name`; UnknownModelError (with close matches) if there is none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(f"unknown model {name!r}.{hint} Available: {', '.join(sorted(_REGISTRY))}") from None


def create_model(name: str, num_classes: int = 40, **kwargs) -> nn.Module:
    """Build a registered model with random weights (load weights with `sgnet.load_weights`).

    Official models accept `fps=True` (or `aux=False`): the deploy structure without the
    dsn3 auxiliary head, as the paper's speed test builds it.
    """
    info = model_info(name)
    if not isinstance(num_classes, int) or num_classes < 1 or num_classes > 255:
        raise SGNetUserError(f"num_classes must be an integer in 1..255, got {num_classes!r}")
    try:
        inspect.signature(info.factory).bind(num_classes=num_classes, **kwargs)
    except TypeError as e:
        raise SGNetUserError(f"model {name!r} does not accept these options: {e}") from None
    model = info.factory(num_classes=num_classes, **kwargs)
    model.sgnet_name = name
    model.sgnet_kwargs = dict(kwargs)
    model.num_classes = num_classes
    return model


def create_deploy_model(name: str, num_classes: int = 40, **kwargs) -> nn.Module:
    """`create_model` for inference: official models get their fps/deploy structure (no aux
    head; `load_weights` drops the checkpoint's dsn3.* automatically)."""
    if model_info(name).official and "aux" not in kwargs:
        kwargs.setdefault("fps", True)
    return create_model(name, num_classes=num_classes, **kwargs)
