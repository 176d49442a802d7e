"""Segmentation heads of SGNet: the dsn heads and the ASPP head.

InPlace-ABN with its default activation becomes BatchNorm2d + LeakyReLU(0.01) (Trap 2).
The activation is a child named `act`, placed right after the norm; it has no parameters,
so the official numeric keys (`dsn4.0`, `dsn4.1`, `dsn4.3`, `head.0.conv3.1`, ...) are kept.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from sgnet.models.blocks import NormLayer, make_norm

LEAKY_SLOPE = 0.01


def _leaky() -> nn.LeakyReLU:
    return nn.LeakyReLU(LEAKY_SLOPE, inplace=True)


def dsn_head(in_channels: int, mid_channels: int, num_classes: int, norm_layer: NormLayer = make_norm) -> nn.Sequential:
    """[0] 3x3 conv (bias) -> [1] norm + leaky ReLU -> [2] Dropout2d(0.1) -> [3] 1x1 conv (bias)."""
    return nn.Sequential(
        OrderedDict(
            [
                ("0", nn.Conv2d(in_channels, mid_channels, 3, padding=1, bias=True)),
                ("1", norm_layer(mid_channels)),
                ("act", _leaky()),
                ("2", nn.Dropout2d(0.1)),
                ("3", nn.Conv2d(mid_channels, num_classes, 1, bias=True)),
            ]
        )
    )


def _conv_norm_act(in_ch: int, out_ch: int, kernel: int, dilation: int, norm_layer: NormLayer) -> nn.Sequential:
    pad = dilation if kernel == 3 else 0
    return nn.Sequential(
        OrderedDict(
            [
                ("0", nn.Conv2d(in_ch, out_ch, kernel, padding=pad, dilation=dilation, bias=False)),
                ("1", norm_layer(out_ch)),
                ("act", _leaky()),
            ]
        )
    )


class ASPP(nn.Module):
    """Five branches (image pool, 1x1, 3x3 at dilation 12/24/36), concatenated, then a 1x1 bottleneck."""

    def __init__(
        self,
        in_channels: int = 2048,
        branch_channels: int = 256,
        out_channels: int = 512,
        dilations: tuple[int, int, int] = (12, 24, 36),
        norm_layer: NormLayer = make_norm,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            OrderedDict(
                [
                    ("0", nn.AdaptiveAvgPool2d(1)),
                    ("1", nn.Conv2d(in_channels, branch_channels, 1, bias=False)),
                    ("2", norm_layer(branch_channels)),
                    ("act", _leaky()),
                ]
            )
        )
        self.conv2 = _conv_norm_act(in_channels, branch_channels, 1, 1, norm_layer)
        self.conv3 = _conv_norm_act(in_channels, branch_channels, 3, dilations[0], norm_layer)
        self.conv4 = _conv_norm_act(in_channels, branch_channels, 3, dilations[1], norm_layer)
        self.conv5 = _conv_norm_act(in_channels, branch_channels, 3, dilations[2], norm_layer)
        self.bottleneck = nn.Sequential(
            OrderedDict(
                [
                    ("0", nn.Conv2d(5 * branch_channels, out_channels, 1, bias=False)),
                    ("1", norm_layer(out_channels)),
                    ("act", _leaky()),
                    ("2", nn.Dropout2d(0.1)),
                ]
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # bilinear align_corners=True from 1x1 is a constant broadcast (official code interpolates)
        pooled = self.conv1(x).expand(-1, -1, h, w)
        out = torch.cat((pooled, self.conv2(x), self.conv3(x), self.conv4(x), self.conv5(x)), dim=1)
        return self.bottleneck(out)


def aspp_head(in_channels: int, num_classes: int, norm_layer: NormLayer = make_norm) -> nn.Sequential:
    """`head.0` = ASPP(in -> 512), `head.1` = 1x1 conv 512 -> classes (bias)."""
    return nn.Sequential(
        OrderedDict(
            [
                ("0", ASPP(in_channels, 256, 512, norm_layer=norm_layer)),
                ("1", nn.Conv2d(512, num_classes, 1, bias=True)),
            ]
        )
    )
