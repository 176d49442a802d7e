"""Built-in models (importing this module registers them)."""

from sgnet.models import lite, sgnet_resnet  # noqa: F401
from sgnet.models.sgnet_resnet import SGNet

__all__ = ["SGNet"]
