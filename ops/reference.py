"""A slow, loop-by-loop transcription of the official DCN semantics (spec §3.3), for tests only.

It is written to be read, not to be fast: every output pixel, tap and deformable group is visited
in Python and the bilinear sample follows the official boundary rule literally. Use tiny shapes.
"""

from __future__ import annotations

import math

import torch

from ops.geometry import IntPair, check_call


def bilinear_sample(plane: torch.Tensor, y: float, x: float) -> torch.Tensor:
    """Sample (C, H, W) at (y, x): 0 unless -1 < y < H and -1 < x < W; out-of-range corners add 0."""
    _, h, w = plane.shape
    if not (y > -1 and x > -1 and y < h and x < w):
        return plane.new_zeros(plane.shape[0])
    y0, x0 = math.floor(y), math.floor(x)
    ly, lx = y - y0, x - x0
    out = plane.new_zeros(plane.shape[0])
    for yy, xx, wgt in (
        (y0, x0, (1 - ly) * (1 - lx)),
        (y0, x0 + 1, (1 - ly) * lx),
        (y0 + 1, x0, ly * (1 - lx)),
        (y0 + 1, x0 + 1, ly * lx),
    ):
        if 0 <= yy < h and 0 <= xx < w:
            out = out + wgt * plane[:, yy, xx]
    return out


@torch.no_grad()
def deform_conv2d_reference(
    input: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """out[n,o,p,q] = bias[o] + sum_{c,k} weight[o,c,k] * mask * bilinear(input, base + offset)."""
    geo = check_call(input, offset, weight, bias, stride, padding, dilation, mask)
    x = input.double()
    off = offset.double()
    wt = weight.double()
    msk = None if mask is None else mask.double()
    taps = geo.taps
    cg = geo.in_channels // geo.offset_groups  # channels per deformable group
    cpg = geo.in_channels // geo.groups  # channels per conv group
    opg = geo.out_channels // geo.groups
    # columns[n, c, k, p, q]: the (masked) sample that multiplies weight[:, c, k]
    cols = torch.zeros(geo.batch, geo.in_channels, taps, geo.out_h, geo.out_w, dtype=torch.float64)
    for n in range(geo.batch):
        for g in range(geo.offset_groups):
            plane = x[n, g * cg : (g + 1) * cg]
            for i in range(geo.kernel_h):
                for j in range(geo.kernel_w):
                    k = i * geo.kernel_w + j
                    for p in range(geo.out_h):
                        for q in range(geo.out_w):
                            base_y = p * geo.stride[0] - geo.padding[0] + i * geo.dilation[0]
                            base_x = q * geo.stride[1] - geo.padding[1] + j * geo.dilation[1]
                            dy = float(off[n, g * 2 * taps + 2 * k, p, q])
                            dx = float(off[n, g * 2 * taps + 2 * k + 1, p, q])
                            val = bilinear_sample(plane, base_y + dy, base_x + dx)
                            if msk is not None:
                                val = val * msk[n, g * taps + k, p, q]
                            cols[n, g * cg : (g + 1) * cg, k, p, q] = val
    out = torch.zeros(geo.batch, geo.out_channels, geo.out_h, geo.out_w, dtype=torch.float64)
    for gi in range(geo.groups):
        w_g = wt[gi * opg : (gi + 1) * opg].reshape(opg, cpg * taps)
        c_g = cols[:, gi * cpg : (gi + 1) * cpg].reshape(geo.batch, cpg * taps, geo.out_pixels)
        out[:, gi * opg : (gi + 1) * opg] = (w_g @ c_g).reshape(geo.batch, opg, geo.out_h, geo.out_w)
    if bias is not None:
        out += bias.double().view(1, -1, 1, 1)
    return out.to(input.dtype)


def random_case(
    batch: int = 2,
    in_channels: int = 4,
    size: tuple[int, int] = (5, 6),
    out_channels: int = 6,
    kernel: tuple[int, int] = (3, 3),
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
    offset_groups: int = 1,
    offset_scale: float = 2.0,
    with_mask: bool = True,
    with_bias: bool = True,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
) -> dict:
    """Random keyword arguments for `deform_conv2d` (a test helper; offsets spread +-offset_scale px)."""
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    kh, kw = kernel
    ho = (h + 2 * padding[0] - (dilation[0] * (kh - 1) + 1)) // stride[0] + 1
    wo = (w + 2 * padding[1] - (dilation[1] * (kw - 1) + 1)) // stride[1] + 1
    taps = kh * kw

    def rnd(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)

    return {
        "input": rnd(batch, in_channels, h, w),
        "offset": (rnd(batch, 2 * offset_groups * taps, ho, wo) * offset_scale).to(dtype),
        "weight": rnd(out_channels, in_channels // groups, kh, kw),
        "bias": rnd(out_channels) if with_bias else None,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "mask": torch.rand(batch, offset_groups * taps, ho, wo, generator=gen, dtype=torch.float64).to(dtype)
        if with_mask
        else None,
    }
