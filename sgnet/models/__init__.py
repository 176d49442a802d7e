"""The model zoo. Every built-in model file is imported here and registers its factories with
`@register_model` from `sgnet.models.registry` (the timm layout: the registry sits in this
package and imports no model, so importing it, by any path, runs this file first)."""

from sgnet.models import lite, sgnet_resnet  # noqa: F401 (imported to register their models)
from sgnet.models.registry import create_deploy_model, create_model, list_models, model_info, register_model
from sgnet.models.sgnet_resnet import SGNet

__all__ = ["SGNet", "create_deploy_model", "create_model", "list_models", "model_info", "register_model"]
