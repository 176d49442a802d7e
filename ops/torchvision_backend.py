"""torchvision's deform_conv2d as a backend, when torchvision is installed (same layout, spec §3.4)."""

from __future__ import annotations

import torch

from ops.geometry import ConvGeometry


def deform_conv2d_torchvision(
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor | None,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    geo: ConvGeometry,
) -> torch.Tensor:
    """Forward to torchvision.ops.deform_conv2d (arguments already checked)."""
    from torchvision.ops import deform_conv2d as tv_deform_conv2d

    return tv_deform_conv2d(
        x, offset, weight, bias, stride=geo.stride, padding=geo.padding, dilation=geo.dilation, mask=mask
    )
