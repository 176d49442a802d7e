"""The model registry's public home: `sgnet.registry.create_model` & co.

The registry itself is `sgnet.models.registry` (inside the models package, the timm layout, so
importing it registers the built-in models without it importing them).
"""

from sgnet.models.registry import (
    _REGISTRY,
    ModelFactory,
    ModelInfo,
    create_deploy_model,
    create_model,
    list_models,
    model_info,
    register_model,
)

__all__ = [
    "_REGISTRY",
    "ModelFactory",
    "ModelInfo",
    "create_deploy_model",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]
