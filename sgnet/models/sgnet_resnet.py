"""The official SGNet networks (ResNet-101 / ResNet-50 trunk with S-Conv, OS 16) - spec §1.

One class covers SGNet, SGNet_ASPP and SGNet_Res50 and their *_fps deploy variants; the
registration order of the children reproduces the official state-dict key order.
"""

from __future__ import annotations

import torch
from torch import nn

from sgnet.errors import SGNetUserError
from sgnet.models.blocks import Bottleneck, NormLayer, make_norm, make_stage
from sgnet.models.heads import aspp_head, dsn_head
from sgnet.models.registry import register_model


class SGNet(nn.Module):
    """Deep stem -> 4 bottleneck stages (S-Conv at block 0 and the last two of each) -> head.

    forward(image, xyz) -> logits at 1/16 of the input. With the aux head (test variant) it
    returns [main, aux] while training or when `return_aux=True`, and only `main` otherwise.
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int],
        num_classes: int = 40,
        head: str = "dsn",
        aux: bool = True,
        spatial_channels: int = 64,
        norm_layer: NormLayer = make_norm,
    ) -> None:
        super().__init__()
        if head not in ("dsn", "aspp"):
            raise ValueError(f"head must be 'dsn' or 'aspp', got {head!r}")
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = norm_layer(64)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn2 = norm_layer(64)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1, bias=False)
        self.bn3 = norm_layer(128)
        self.relu3 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        kw = dict(spatial_channels=spatial_channels, norm_layer=norm_layer)
        self.layer1, ch = make_stage(Bottleneck, 128, 64, layers[0], stride=1, dilation=1, **kw)
        self.layer2, ch = make_stage(Bottleneck, ch, 128, layers[1], stride=2, dilation=1, **kw)
        self.layer3, ch3 = make_stage(Bottleneck, ch, 256, layers[2], stride=2, dilation=2, **kw)
        self.layer4, ch4 = make_stage(Bottleneck, ch3, 512, layers[3], stride=1, dilation=4, **kw)
        # registration order = official key order: ASPP net registers head before dsn3
        self.head: nn.Module | None = None
        self.dsn4: nn.Module | None = None
        if head == "aspp":
            self.head = aspp_head(ch4, num_classes, norm_layer)
        self.dsn3 = dsn_head(ch3, 512, num_classes, norm_layer) if aux else None
        if head == "dsn":
            self.dsn4 = dsn_head(ch4, 512, num_classes, norm_layer)
        self.has_aux = aux
        self.output_stride = 16

    def stem(self, image: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.bn1(self.conv1(image)))
        x = self.relu2(self.bn2(self.conv2(x)))
        x = self.relu3(self.bn3(self.conv3(x)))
        return self.maxpool(x)

    def forward(
        self, image: torch.Tensor, xyz: torch.Tensor, return_aux: bool | None = None
    ) -> torch.Tensor | list[torch.Tensor]:
        x = self.stem(image)
        x = self.layer1(x, xyz)
        x = self.layer2(x, xyz)
        x3 = self.layer3(x, xyz)
        x4 = self.layer4(x3, xyz)
        main = self.head(x4) if self.head is not None else self.dsn4(x4)
        want_aux = self.training if return_aux is None else return_aux
        if want_aux and self.dsn3 is not None:
            return [main, self.dsn3(x3)]
        return main


def _aux_flag(fps: bool | None, aux: bool | None, default: bool = True) -> bool:
    if fps is not None and aux is not None and fps == aux:
        raise SGNetUserError("fps=True means aux=False (and fps=False means aux=True); pass only one of them")
    if fps is not None:
        return not fps
    return default if aux is None else aux


@register_model(official=True)
def sgnet_r101(num_classes: int = 40, fps: bool | None = None, aux: bool | None = None) -> SGNet:
    """SGNet, ResNet-101 trunk + dsn4 head (official `SGNet`; fps=True -> `SGNet_fps`)."""
    return SGNet((3, 4, 23, 3), num_classes, head="dsn", aux=_aux_flag(fps, aux))


@register_model(official=True)
def sgnet_r101_aspp(num_classes: int = 40, fps: bool | None = None, aux: bool | None = None) -> SGNet:
    """SGNet, ResNet-101 trunk + ASPP head (official `SGNet_ASPP`; fps=True -> `SGNet_ASPP_fps`)."""
    return SGNet((3, 4, 23, 3), num_classes, head="aspp", aux=_aux_flag(fps, aux))


@register_model(official=True)
def sgnet_r50(num_classes: int = 40, fps: bool | None = None, aux: bool | None = None) -> SGNet:
    """SGNet, ResNet-50 trunk + dsn4 head (official `SGNet_Res50`; fps=True -> `SGNet_Res50_fps`)."""
    return SGNet((3, 4, 6, 3), num_classes, head="dsn", aux=_aux_flag(fps, aux))
