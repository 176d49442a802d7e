"""ResNet building blocks that carry the spatial tensor S (xyz or z) next to the features.

Module and attribute names follow the official SGNet code, so `state_dict()` keys equal the
released checkpoints' keys (minus `module.`, plus BatchNorm's `num_batches_tracked`).
InPlace-ABN(activation="none") becomes a plain `nn.BatchNorm2d`; the ReLUs stay separate
modules exactly where the official code has them (spec §1.2, §2).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

import ops

NormLayer = Callable[[int], nn.Module]


def make_norm(channels: int) -> nn.BatchNorm2d:
    """The norm every SGNet layer uses: BatchNorm2d(eps=1e-5, momentum=0.1) (the ABN defaults)."""
    return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)


def conv3x3(in_ch: int, out_ch: int, stride: int, dilation: int, sconv: bool, spatial_channels: int,
            norm_layer: NormLayer) -> nn.Module:
    """A block's 3x3 conv: S-Conv (always padding 1, dilation 1 — it ignores the stage dilation,
    Trap 4; frozen zero bias) or a plain dilated conv without bias."""
    if sconv:
        return ops.SConv(
            in_ch, out_ch, kernel_size=3, stride=stride, padding=1, dilation=1, deformable_groups=1,
            spatial_channels=spatial_channels, norm_layer=norm_layer,
        )
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)


class Bottleneck(nn.Module):
    """ResNet bottleneck (expansion 4) whose 3x3 conv is an S-Conv or a plain (dilated) conv.

    The S-Conv is always 3x3, padding 1, dilation 1 (it ignores the stage dilation, Trap 4)
    and keeps the block stride.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        sconv: bool = False,
        spatial_channels: int = 64,
        norm_layer: NormLayer = make_norm,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = norm_layer(planes)
        self.conv2 = conv3x3(planes, planes, stride, dilation, sconv, spatial_channels, norm_layer)
        self.bn2 = norm_layer(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.is_sconv = sconv

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.conv2(out, s) if self.is_sconv else self.conv2(out)
        out = self.relu(self.bn2(out))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs); the first, strided one is the S-Conv when `sconv`."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        sconv: bool = False,
        spatial_channels: int = 64,
        norm_layer: NormLayer = make_norm,
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride, dilation, sconv, spatial_channels, norm_layer)
        self.bn1 = norm_layer(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.is_sconv = sconv

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.conv1(x, s) if self.is_sconv else self.conv1(x)
        out = self.relu(self.bn1(out))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class Stage(nn.Sequential):
    """A ResNet stage that hands the same S to every block (keys: `layerX.<i>.…`)."""

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for block in self:
            x = block(x, s)
        return x


def sconv_rule(index: int, num_blocks: int, first: bool = True) -> bool:
    """Official placement (Trap 3): block 0 takes the network flag, block i>=1 iff i >= n-2."""
    return first if index == 0 else index >= num_blocks - 2


def make_stage(
    block: type[Bottleneck] | type[BasicBlock],
    inplanes: int,
    planes: int,
    num_blocks: int,
    stride: int = 1,
    dilation: int = 1,
    spatial_channels: int = 64,
    sconv_blocks: Callable[[int, int], bool] = sconv_rule,
    norm_layer: NormLayer = make_norm,
) -> tuple[Stage, int]:
    """Build one stage; returns it and its output channel count.

    The downsample (1x1 conv + norm, keys `downsample.0/1`) exists only on block 0 and only
    when the stride or channel count changes.
    """
    out_ch = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out_ch:
        downsample = nn.Sequential(nn.Conv2d(inplanes, out_ch, 1, stride=stride, bias=False), norm_layer(out_ch))
    blocks = []
    for i in range(num_blocks):
        blocks.append(
            block(
                inplanes if i == 0 else out_ch,
                planes,
                stride=stride if i == 0 else 1,
                dilation=dilation,
                downsample=downsample if i == 0 else None,
                sconv=sconv_blocks(i, num_blocks),
                spatial_channels=spatial_channels,
                norm_layer=norm_layer,
            )
        )
    return Stage(*blocks), out_ch
