"""Argument checking for `deform_conv2d`: one place that turns the user's call into a checked geometry.

Every backend receives the same `ConvGeometry`, so shape rules (torchvision's layout) live here once
and each mistake gets one clear message naming the tensor, the shape it had and the shape it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

IntPair = int | tuple[int, int]


def pair(value: IntPair | list[int], name: str) -> tuple[int, int]:
    """Accept an int or a pair of ints (torchvision style) and return a pair."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, int):
        return (value, value)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (int(value[0]), int(value[1]))
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


@dataclass(frozen=True)
class ConvGeometry:
    """Everything a backend needs to know about one call, already checked."""

    batch: int
    in_channels: int
    height: int
    width: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int  # ordinary conv groups (weight.shape[1] * groups == in_channels)
    offset_groups: int  # deformable groups G (offset has 2*G*kh*kw channels)
    out_h: int
    out_w: int

    @property
    def taps(self) -> int:
        return self.kernel_h * self.kernel_w

    @property
    def out_pixels(self) -> int:
        return self.out_h * self.out_w


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ")"


def check_call(
    input: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair,
    mask: torch.Tensor | None,
) -> ConvGeometry:
    """Validate a `deform_conv2d` call and derive its geometry (raises ValueError/TypeError)."""
    for name, t in (("input", input), ("offset", offset), ("weight", weight), ("bias", bias), ("mask", mask)):
        if t is None:
            continue
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"deform_conv2d: {name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"deform_conv2d: {name} must be a floating-point tensor, got {t.dtype}")
        if t.device != input.device:
            raise ValueError(
                f"deform_conv2d: {name} is on {t.device} but input is on {input.device}; move both to one device"
            )
    if input.dim() != 4:
        raise ValueError(f"deform_conv2d: input must be 4-D (N, C, H, W), got shape {_shape(input)}")
    if weight.dim() != 4:
        raise ValueError(f"deform_conv2d: weight must be 4-D (out, in/groups, kh, kw), got shape {_shape(weight)}")
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    dh, dw = pair(dilation, "dilation")
    if sh < 1 or sw < 1 or dh < 1 or dw < 1 or ph < 0 or pw < 0:
        raise ValueError(
            f"deform_conv2d: need stride>=1, dilation>=1, padding>=0; got stride={stride}, "
            f"padding={padding}, dilation={dilation}"
        )
    n, c, h, w = input.shape
    o, cpg, kh, kw = weight.shape
    if cpg == 0 or c % cpg != 0:
        raise ValueError(
            f"deform_conv2d: weight has {cpg} input channels per group, which does not divide the "
            f"input's {c} channels (weight {_shape(weight)}, input {_shape(input)})"
        )
    groups = c // cpg
    if o % groups != 0:
        raise ValueError(
            f"deform_conv2d: {o} output channels are not divisible by the {groups} conv groups implied by "
            f"weight {_shape(weight)} and input {_shape(input)}"
        )
    out_h = (h + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    out_w = (w + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"deform_conv2d: input {h}x{w} is too small for kernel {kh}x{kw} with padding {(ph, pw)} and "
            f"dilation {(dh, dw)}"
        )
    taps = kh * kw
    if offset.dim() != 4 or offset.shape[1] % (2 * taps) != 0 or offset.shape[1] == 0:
        raise ValueError(
            f"deform_conv2d: offset must be (N, 2*G*{kh}*{kw}, {out_h}, {out_w}) for some deformable-group "
            f"count G, got {_shape(offset)}"
        )
    g = offset.shape[1] // (2 * taps)
    if tuple(offset.shape) != (n, 2 * g * taps, out_h, out_w):
        raise ValueError(
            f"deform_conv2d: offset must have shape ({n}, {2 * g * taps}, {out_h}, {out_w}) for this input and "
            f"kernel, got {_shape(offset)}"
        )
    if c % g != 0:
        raise ValueError(f"deform_conv2d: {g} deformable groups do not divide the input's {c} channels")
    if mask is not None and tuple(mask.shape) != (n, g * taps, out_h, out_w):
        raise ValueError(
            f"deform_conv2d: mask must have shape ({n}, {g * taps}, {out_h}, {out_w}) (one value per tap and "
            f"deformable group), got {_shape(mask)}"
        )
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"deform_conv2d: bias must have shape ({o},), got {_shape(bias)}")
    return ConvGeometry(
        batch=n,
        in_channels=c,
        height=h,
        width=w,
        out_channels=o,
        kernel_h=kh,
        kernel_w=kw,
        stride=(sh, sw),
        padding=(ph, pw),
        dilation=(dh, dw),
        groups=groups,
        offset_groups=g,
        out_h=out_h,
        out_w=out_w,
    )
