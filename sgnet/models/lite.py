"""Light SGNet variants for CPU real time: a ResNet-18-style trunk with S-Conv.

`sgnet_r18` is the official recipe on a ResNet-18 trunk (BasicBlock, S-Conv in block 0 and
the last two blocks of every stage = all blocks, OS 16, dsn head). `sgnet_lite` (the app's
default) is a narrower trunk with fewer, cheaper S-Convs and a small decoder that adds a
stride-4 skip for sharper edges. Both keep BatchNorm and a standard head so they train.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from sgnet.models.blocks import BasicBlock, NormLayer, make_norm, make_stage, sconv_rule
from sgnet.models.heads import dsn_head
from sgnet.models.registry import register_model


def _conv_bn_relu(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, norm_layer: NormLayer = make_norm):
    return [
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=False),
        norm_layer(out_ch),
        nn.ReLU(inplace=True),
    ]


class Decoder(nn.Module):
    """DeepLabv3+-style refinement kept cheap for CPUs: the head features are reduced (1x1) at
    low resolution, upsampled to a high-resolution skip, concatenated with the reduced skip,
    fused by one 3x3 conv and classified."""

    def __init__(
        self,
        high_ch: int,
        skip_ch: int,
        num_classes: int,
        channels: tuple[int, int, int] = (32, 16, 32),
        norm_layer: NormLayer = make_norm,
    ) -> None:
        super().__init__()
        high_red, skip_red, mid = channels
        self.high = nn.Sequential(*_conv_bn_relu(high_ch, high_red, 1, norm_layer=norm_layer))
        self.skip = nn.Sequential(*_conv_bn_relu(skip_ch, skip_red, 1, norm_layer=norm_layer))
        self.fuse = nn.Sequential(*_conv_bn_relu(high_red + skip_red, mid, 3, norm_layer=norm_layer))
        self.classifier = nn.Conv2d(mid, num_classes, 1, bias=True)

    def forward(self, high: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        high = F.interpolate(self.high(high), size=skip.shape[-2:], mode="bilinear", align_corners=True)
        return self.classifier(self.fuse(torch.cat((high, self.skip(skip)), dim=1)))


class LiteSGNet(nn.Module):
    """Stem -> 4 BasicBlock stages (S-Conv where `sconv_blocks(stage, i, n)` says) -> head.

    head: a dsn head on the last stage (conv3x3 + BN + LeakyReLU + dropout + 1x1), either
    straight to logits (`decoder=False`, OS 16) or to features refined with the stride-4
    skip from layer1 (`decoder=True`, logits at 1/4). `aux=True` adds a dsn3 head on layer3
    (deep supervision while training; [main, aux] returned as for the official nets).
    """

    def __init__(
        self,
        num_classes: int = 40,
        stem: tuple[tuple[int, int], ...] = ((32, 2), (32, 1), (64, 1)),
        stem_pool: bool = True,
        widths: tuple[int, int, int, int] = (64, 128, 256, 512),
        blocks: tuple[int, int, int, int] = (2, 2, 2, 2),
        last_stride: int = 1,
        spatial_channels: int = 64,
        sconv_blocks: Callable[[int, int, int], bool] | None = None,
        head_channels: int = 256,
        decoder: bool = False,
        decoder_channels: tuple[int, int, int] = (32, 16, 32),
        aux: bool = False,
        norm_layer: NormLayer = make_norm,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = 3
        for ch, stride in stem:
            layers += _conv_bn_relu(prev, ch, 3, stride=stride, norm_layer=norm_layer)
            prev = ch
        if stem_pool:
            layers.append(nn.MaxPool2d(3, stride=2, padding=1))
        self.stem = nn.Sequential(*layers)
        rule = sconv_blocks or (lambda stage, i, n: sconv_rule(i, n))
        strides = (1, 2, 2, last_stride)
        dilations = (1, 1, 1, 2 if last_stride == 1 else 1)
        chans = []
        for s in range(4):
            stage, prev = make_stage(
                BasicBlock,
                prev,
                widths[s],
                blocks[s],
                stride=strides[s],
                dilation=dilations[s],
                spatial_channels=spatial_channels,
                norm_layer=norm_layer,
                sconv_blocks=lambda i, n, s=s: rule(s, i, n),
            )
            self.add_module(f"layer{s + 1}", stage)
            chans.append(prev)
        self.dsn3 = dsn_head(chans[2], head_channels // 2, num_classes, norm_layer) if aux else None
        self.decoder: Decoder | None = None
        if decoder:
            body = dsn_head(chans[3], head_channels, num_classes, norm_layer)
            self.dsn4 = nn.Sequential(OrderedDict(list(body.named_children())[:4]))  # no classifier
            self.decoder = Decoder(head_channels, chans[0], num_classes, decoder_channels, norm_layer=norm_layer)
        else:
            self.dsn4 = dsn_head(chans[3], head_channels, num_classes, norm_layer)
        self.has_aux = aux
        self.output_stride = 4 if decoder else 16 * last_stride

    def forward(
        self, image: torch.Tensor, xyz: torch.Tensor, return_aux: bool | None = None
    ) -> torch.Tensor | list[torch.Tensor]:
        x = self.stem(image)
        x1 = self.layer1(x, xyz)
        x3 = self.layer3(self.layer2(x1, xyz), xyz)
        x4 = self.layer4(x3, xyz)
        main = self.dsn4(x4)
        if self.decoder is not None:
            main = self.decoder(main, x1)
        want_aux = self.training if return_aux is None else return_aux
        if want_aux and self.dsn3 is not None:
            return [main, self.dsn3(x3)]
        return main


@register_model
def sgnet_r18(num_classes: int = 40, aux: bool = False, fps: bool | None = None) -> LiteSGNet:
    """SGNet recipe on ResNet-18 (BasicBlock, S-Conv in every block, OS 16, dsn head)."""
    if fps is not None:
        aux = not fps
    return LiteSGNet(num_classes, aux=aux)


def _lite_sconv(stage: int, index: int, num_blocks: int) -> bool:
    """Official rule (block 0 + last two) on layers 3-4, block 0 only on layer 2, none on layer 1:
    a stride-4 S-Conv alone would cost about as much as the rest of the network on a CPU."""
    if stage == 0:
        return False
    if stage == 1:
        return index == 0
    return sconv_rule(index, num_blocks)


def _lite(num_classes: int, aux: bool, fps: bool | None, sconv_blocks: Callable[[int, int, int], bool]) -> LiteSGNet:
    if fps is not None:
        aux = not fps
    model = LiteSGNet(
        num_classes,
        stem=((16, 2), (32, 2)),
        stem_pool=False,
        widths=(32, 64, 128, 256),
        blocks=(2, 2, 2, 2),
        last_stride=2,
        spatial_channels=16,
        sconv_blocks=sconv_blocks,
        head_channels=128,
        decoder=True,
        decoder_channels=(32, 16, 32),
        aux=aux,
    )
    model.default_input_size = (240, 320)
    return model


@register_model
def sgnet_lite(num_classes: int = 40, aux: bool = False, fps: bool | None = None) -> LiteSGNet:
    """CPU real-time SGNet (the app default): narrow ResNet-18 trunk, 5 S-Convs, stride-4 decoder."""
    return _lite(num_classes, aux, fps, _lite_sconv)


@register_model
def sgnet_lite_plain(num_classes: int = 40, aux: bool = False, fps: bool | None = None) -> LiteSGNet:
    """`sgnet_lite` with plain 3x3 convs where it has S-Convs: the RGB-only control that tells
    whether depth guidance helps (it takes xyz like every model here, and ignores it)."""
    return _lite(num_classes, aux, fps, lambda stage, index, num_blocks: False)
