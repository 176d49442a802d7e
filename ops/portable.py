"""The S-Conv in a form that exports: ONNX runtimes run it without the project's own kernels.

Two forms, picked with `sconv_form(...)` (thread-local; `portable` by default):

- `portable`: the bilinear samples come from one `grid_sample` (padding zeros, which is exactly
  the official boundary rule: corners outside the image count 0, so a sample at y <= -1 or y >= H
  is 0), laid out as the torch backend's "sample image" (tap (i, j) of output (p, q) at pixel
  (kh*p + i, kw*q + j)); the mask multiplies it and one `conv2d` with kernel = stride = (kh, kw)
  is the deformable conv. Every op is standard (ONNX GridSample, Mul, Conv), so every runtime runs it.
- `deformconv`: one custom op, `sgnet_ops::deform_conv2d`, that the ONNX exporter writes as ONNX
  `DeformConv` (opset 19; `onnx_translations()`); eagerly it runs the decomposed form. Only runtimes
  that implement DeformConv load it (docs/engines.md says which).

The backend entry `portable` in `ops.backends.TABLE` dispatches here, so
`with ops.use_backend("portable"), ops.portable.sconv_form("deformconv"): torch.onnx.export(...)`
exports a whole network with either form; eager calls give the same numbers as the torch backend.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from ops.geometry import ConvGeometry

FORMS = ("portable", "deformconv")
_state = threading.local()


def get_form() -> str:
    """The form the `portable` backend emits in this thread ("portable" unless set)."""
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else "portable"


@contextlib.contextmanager
def sconv_form(form: str) -> Iterator[None]:
    """Use one of `FORMS` for the `portable` backend within the block (this thread)."""
    if form not in FORMS:
        raise ValueError(f"unknown S-Conv form {form!r}; choose one of {', '.join(FORMS)}")
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    stack.append(form)
    try:
        yield
    finally:
        stack.pop()


def _axis(n_out: int, stride: int, pad: int, k: int, dil: int, ref: torch.Tensor) -> torch.Tensor:
    """Base sample positions of one axis, (n_out, k): out * stride - pad + tap * dilation."""
    out = torch.arange(n_out, device=ref.device, dtype=ref.dtype) * stride - pad
    return out[:, None] + torch.arange(k, device=ref.device, dtype=ref.dtype) * dil


def decomposed(x: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor | None, weight: torch.Tensor,
               bias: torch.Tensor | None, stride: tuple[int, int], padding: tuple[int, int],
               dilation: tuple[int, int], groups: int) -> torch.Tensor:  # fmt: skip
    """Deformable conv from grid_sample + mul + conv2d (shapes as `ops.deform_conv2d`).

    Written with the sizes read from the tensors, so a dynamic-shape export stays dynamic.
    """
    n, c, h, w = x.shape
    kh, kw = weight.shape[-2:]
    ho, wo = offset.shape[-2:]
    g = offset.shape[1] // (2 * kh * kw)
    pos_dt = torch.float64 if x.dtype == torch.float64 else torch.float32  # fp16 positions are too coarse
    # (N, G, kh, kw, 2, Ho, Wo) -> y and x, each laid out (N*G, Ho, kh, Wo, kw)
    off = offset.to(pos_dt).reshape(n, g, kh, kw, 2, ho, wo).permute(4, 0, 1, 5, 2, 6, 3)
    by = _axis(ho, stride[0], padding[0], kh, dilation[0], off)[:, :, None, None]  # (Ho, kh, 1, 1)
    bx = _axis(wo, stride[1], padding[1], kw, dilation[1], off)  # (Wo, kw)
    y = off[0] + by
    xx = off[1] + bx
    # grid_sample (align_corners=False) reads pixel (gx + 1) * W / 2 - 1/2; NaN offsets sample nothing
    gy = torch.nan_to_num((2 * y + 1) / h - 1, nan=-4.0)
    gx = torch.nan_to_num((2 * xx + 1) / w - 1, nan=-4.0)
    grid = torch.stack((gx, gy), dim=-1).reshape(n * g, ho * kh, wo * kw, 2)
    samples = F.grid_sample(
        x.reshape(n * g, c // g, h, w), grid.to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=False
    )  # (N*G, C/G, Ho*kh, Wo*kw): the sample image
    if mask is not None:
        m = mask.reshape(n, g, kh, kw, ho, wo).permute(0, 1, 4, 2, 5, 3).reshape(n * g, 1, ho * kh, wo * kw)
        samples = samples * m.to(x.dtype)
    samples = samples.reshape(n, c, ho * kh, wo * kw)
    return F.conv2d(samples, weight, bias, stride=(kh, kw), groups=groups)


@torch.library.custom_op("sgnet_ops::deform_conv2d", mutates_args=())
def deform_conv2d_op(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                     mask: torch.Tensor | None, stride: list[int], padding: list[int], dilation: list[int],
                     groups: int, offset_groups: int) -> torch.Tensor:  # fmt: skip
    """One node for the exporter to write as ONNX DeformConv; eagerly the decomposed form."""
    return decomposed(x, offset, mask, weight, bias, tuple(stride), tuple(padding), tuple(dilation), groups)


@deform_conv2d_op.register_fake
def _(x, offset, weight, bias, mask, stride, padding, dilation, groups, offset_groups):
    return x.new_empty(x.shape[0], weight.shape[0], offset.shape[2], offset.shape[3])


def deform_conv2d_portable(
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor | None,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    geo: ConvGeometry,
) -> torch.Tensor:
    """Entry point of the `portable` backend (arguments already checked): the form `sconv_form` set."""
    if get_form() == "deformconv":
        return deform_conv2d_op(
            x, offset, weight, bias, mask, list(geo.stride), list(geo.padding), list(geo.dilation),
            geo.groups, geo.offset_groups,
        )
    return decomposed(x, offset, mask, weight, bias, geo.stride, geo.padding, geo.dilation, geo.groups)


def onnx_translations() -> dict:
    """`custom_translation_table` for `torch.onnx.export(dynamo=True)`: the custom op -> ONNX DeformConv."""
    from onnxscript import opset19 as op

    def deform_conv(x, offset, weight, bias=None, mask=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                    groups=1, offset_groups=1):  # fmt: skip
        kernel = list(weight.shape[-2:]) if weight.shape is not None else None
        return op.DeformConv(
            x, weight, offset, bias, mask,
            dilations=list(dilation), group=groups, kernel_shape=kernel, offset_group=offset_groups,
            pads=[padding[0], padding[1], padding[0], padding[1]], strides=list(stride),
        )

    return {torch.ops.sgnet_ops.deform_conv2d.default: deform_conv}
