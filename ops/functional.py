"""`deform_conv2d`: modulated deformable convolution (DCNv2; DCNv1 when mask is None).

Same argument order and offset/mask layout as `torchvision.ops.deform_conv2d`, same numbers as the
official SGNet CUDA kernels (spec §3.3). The call is checked once here, then handed to the backend
that `ops.backends.resolve` picks, through its entry in `ops.backends.TABLE` (module and function,
imported on first use: pure PyTorch, Triton or torchvision). On CUDA, `ops.guard` checks each backend
once against the pure-PyTorch one before its first call.
"""

from __future__ import annotations

import torch

from ops import backends, guard
from ops.geometry import IntPair, check_call


def _common_dtype(tensors: list[torch.Tensor | None], device_type: str) -> torch.dtype | None:
    """Target dtype: the autocast dtype when autocast is on for this device, else None (must match)."""
    if torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    dtypes = {t.dtype for t in tensors if t is not None}
    if len(dtypes) > 1:
        names = ", ".join(sorted(str(d) for d in dtypes))
        raise TypeError(
            f"deform_conv2d: input, offset, weight, bias and mask must share one dtype, got {names}; "
            "convert them (e.g. .float()) or run under torch.autocast"
        )
    return None


def deform_conv2d(
    input: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Deformable 2-D convolution.

    input (N, C, H, W); offset (N, 2*G*kh*kw, Ho, Wo) with channel 2k = dy and 2k+1 = dx of tap
    k = i*kw + j, deformable groups G outermost; weight (O, C/groups, kh, kw); bias (O,) or None;
    mask (N, G*kh*kw, Ho, Wo) or None (None = DCNv1, no modulation). Returns (N, O, Ho, Wo).
    A sample at (y, x) is 0 when y <= -1, x <= -1, y >= H or x >= W, else bilinear with corners
    outside the image counting as 0. Differentiable in input, offset, mask, weight and bias.
    """
    geo = check_call(input, offset, weight, bias, stride, padding, dilation, mask)
    device_type = input.device.type
    target = _common_dtype([input, offset, weight, bias, mask], device_type)
    if target is not None:
        with torch.autocast(device_type, enabled=False):
            return deform_conv2d(
                *(t.to(target) if t is not None else None for t in (input, offset, weight, bias)),
                stride=stride,
                padding=padding,
                dilation=dilation,
                mask=None if mask is None else mask.to(target),
            )
    # the current choice, resolved; on CUDA first checked once against the pure-PyTorch backend (ops.guard)
    tensors = (input, offset, weight, bias, mask)
    backward = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
    name = guard.backend_for(input.device, input.dtype, backward)
    return backends.lookup(name).load()(input, offset, mask, weight, bias, geo)
