"""`DeformConv` (DCNv1 layer) and `SConv` (SGNet's depth-guided S-Conv) with the official parameter names.

The state-dict keys, shapes and registration order match the official checkpoints (spec §3.1), so a
converted checkpoint loads strictly. The norm is pluggable (`norm_layer(num_channels)`) because the
official InPlace-ABN is replaced by the model package's own norm.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ops.functional import deform_conv2d
from ops.geometry import pair


def _init_uniform(weight: torch.Tensor, in_channels: int, kernel: tuple[int, int]) -> None:
    # the official DCN layers' init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    stdv = 1.0 / math.sqrt(in_channels * kernel[0] * kernel[1])
    nn.init.uniform_(weight, -stdv, stdv)


class DeformConv(nn.Module):
    """Deformable conv without modulation (DCNv1); `forward(x, offset)`, offset from the caller."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 1,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        deformable_groups: int = 1,
        bias: bool = False,
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"DeformConv: groups={groups} must divide in ({in_channels}) and out ({out_channels})")
        if in_channels % deformable_groups:
            raise ValueError(f"DeformConv: deformable_groups={deformable_groups} must divide in_channels={in_channels}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding")
        self.dilation = pair(dilation, "dilation")
        self.groups = groups
        self.deformable_groups = deformable_groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        _init_uniform(self.weight, in_channels // groups, self.kernel_size)

    @property
    def offset_channels(self) -> int:
        return 2 * self.deformable_groups * self.kernel_size[0] * self.kernel_size[1]

    def forward(self, x: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        if offset.dim() != 4 or offset.shape[1] != self.offset_channels:
            raise ValueError(
                f"DeformConv: offset must have {self.offset_channels} channels (2 x deformable_groups x "
                f"kernel taps), got shape {tuple(offset.shape)}"
            )
        return deform_conv2d(x, offset, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
            f"deformable_groups={self.deformable_groups}, bias={self.bias is not None}"
        )


def depth_plane(spatial: torch.Tensor) -> torch.Tensor:
    """The z plane (N, 1, H, W) S-Conv reads: channel 2 of xyz (N,3,H,W), or z given as (N,H,W)/(N,1,H,W)."""
    if not isinstance(spatial, torch.Tensor):
        raise TypeError(f"SConv: S must be a torch.Tensor, got {type(spatial).__name__}")
    if spatial.dim() == 3:
        return spatial.unsqueeze(1)
    if spatial.dim() == 4 and spatial.shape[1] == 3:
        return spatial[:, 2:3]
    if spatial.dim() == 4 and spatial.shape[1] == 1:
        return spatial
    raise ValueError(
        f"SConv: S must be xyz (N, 3, H, W) with z in metres in channel 2, or z alone as (N, H, W); "
        f"got shape {tuple(spatial.shape)}"
    )


class SConv(nn.Module):
    """S-Conv: a DCNv2 whose offsets and modulation come from depth (spec §3.2).

    forward(x, S): z = channel 2 of S, resized (bilinear, align_corners=True) to x's size;
    F = spatial_projector(z); offset = offset_generator(F); mask = sigmoid(weight_generator2(
    weight_generator1(F, offset))); out = deform_conv2d(x, offset, weight, bias, ..., mask).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 1,
        dilation: int = 1,
        deformable_groups: int = 1,
        spatial_channels: int = 64,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"SConv: kernel_size must be odd, got {kernel_size}")
        if 2 * padding != dilation * (kernel_size - 1):
            raise ValueError(
                f"SConv: padding={padding} with dilation={dilation} changes the output size relative to the "
                f"offset generator (kernel {kernel_size}, padding {(kernel_size - 1) // 2}); use "
                f"padding = dilation * (kernel_size - 1) / 2"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.deformable_groups = deformable_groups
        taps = kernel_size * kernel_size
        gen_pad = (kernel_size - 1) // 2
        # Registration order = the official state-dict order.
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        # Frozen zero bias: the official op always adds it and the checkpoints store it.
        self.bias = nn.Parameter(torch.zeros(out_channels), requires_grad=False)
        self.offset_generator = nn.Conv2d(
            spatial_channels, 2 * deformable_groups * taps, kernel_size, stride=stride, padding=gen_pad
        )
        self.weight_generator2 = nn.Conv2d(spatial_channels, deformable_groups * taps, 1)
        self.weight_generator1 = DeformConv(
            spatial_channels,
            spatial_channels,
            kernel_size,
            stride=stride,
            padding=gen_pad,
            deformable_groups=deformable_groups,
            bias=False,
        )
        layers: list[nn.Module] = []
        for i in range(3):
            layers += [
                nn.Conv2d(1 if i == 0 else spatial_channels, spatial_channels, 3, padding=1),
                norm_layer(spatial_channels),
                nn.ReLU(inplace=True),
            ]
        self.spatial_projector = nn.Sequential(*layers)
        _init_uniform(self.weight, in_channels, (kernel_size, kernel_size))
        # zero offsets at start: S-Conv begins as a plain conv with a learnt mask (spec §10)
        nn.init.zeros_(self.offset_generator.weight)
        nn.init.zeros_(self.offset_generator.bias)

    def guidance(self, x: torch.Tensor, spatial: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The (offset, mask) that depth produces for features x; exposed for inspection and tests."""
        z = depth_plane(spatial)
        if z.shape[0] != x.shape[0]:
            raise ValueError(f"SConv: S has batch {z.shape[0]} but x has batch {x.shape[0]}")
        z = z.to(dtype=self.offset_generator.weight.dtype)
        if z.shape[-2:] != x.shape[-2:]:
            z = F.interpolate(z, size=x.shape[-2:], mode="bilinear", align_corners=True)
        feats = self.spatial_projector(z)
        offset = self.offset_generator(feats)
        mask = torch.sigmoid(self.weight_generator2(self.weight_generator1(feats, offset)))
        return offset, mask

    def forward(self, x: torch.Tensor, spatial: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SConv: x must be (N, {self.in_channels}, H, W), got shape {tuple(x.shape)}")
        offset, mask = self.guidance(x, spatial)
        return deform_conv2d(x, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask=mask)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, deformable_groups={self.deformable_groups}"
        )
