"""S-Conv operators: modulated deformable convolution on today's PyTorch (CPU, CUDA via Triton, autograd).

Public API (stable):
- `deform_conv2d(input, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None)`
- `DeformConv` (DCNv1 layer) and `SConv` (SGNet's depth-guided conv) modules
- backend choice: `set_backend`, `get_backend`, `use_backend`, `available_backends`, env SGNET_OPS_BACKEND
- the GPU path guard (`ops.guard`): `BackendCheckError`, `OpsGuardWarning`

This package imports nothing of the project (it sits at the bottom of app -> sgnet -> ops).
"""

from ops.backends import BACKENDS, available_backends, get_backend, set_backend, use_backend
from ops.functional import deform_conv2d
from ops.guard import BackendCheckError, OpsGuardWarning
from ops.modules import DeformConv, SConv, depth_plane

__all__ = [
    "BACKENDS",
    "BackendCheckError",
    "DeformConv",
    "OpsGuardWarning",
    "SConv",
    "available_backends",
    "deform_conv2d",
    "depth_plane",
    "get_backend",
    "set_backend",
    "use_backend",
]
