"""Pure-PyTorch modulated deformable conv (CPU and CUDA) with a hand-written, memory-frugal backward.

Formulation (why it is fast; figures in docs/ops.md):
1. The input is copied once, channels-last, into a buffer with a zero border (1 pixel before, 2
   after), so each bilinear corner of a sample is one contiguous row of C/G values. Positions are
   clamped to [-1, H] x [-1, W]: a sample at or beyond the border then blends only zero rows, which
   is exactly the official rule (0 unless -1 < y < H and -1 < x < W; outside corners count 0),
   with no per-corner tests.
2. A sample is four row indices and four weights (the mask folded in); one `embedding_bag(mode="sum")`
   gathers and blends them all (int32 indices take the FBGEMM fast path on CPU).
3. The samples form a "sample image" of size (kh*Ho) x (kw*Wo): tap (i, j) of output pixel (p, q) sits
   at pixel (kh*p + i, kw*q + j). A plain conv2d with kernel = stride = (kh, kw), the user's weight
   and groups then *is* the deformable conv, and runs on oneDNN / cuDNN (on this CPU about twice as
   fast as the same product through `torch.mm`).
4. Output rows are processed in blocks so the sample image stays bounded (`COLUMN_BUDGET_BYTES`).
The backward recomputes the sample image per block (autograd saves only the inputs) and uses
`aten.convolution_backward` for the weight and sample-image gradients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ops.autograd import recomputing_function
from ops.geometry import ConvGeometry

# Sample-image budget per block of output rows (bytes). Each block costs a few parallel regions (gather,
# conv, weight re-pack, copy-out), each an OpenMP hand-off that stalls on a busy machine, so blocks are
# few: SGNet's layer3/layer4 S-Convs take one or two at 480x640. A block is also at least twice the
# weight's size, since the conv re-packs its weight for every block. The forward's extra memory is about
# one block plus the zero-bordered input copy; the backward's about 3 blocks.
COLUMN_BUDGET_BYTES = 16 * 1024 * 1024

# Samples whose indices/weights the forward computes in one go (32 bytes each). Kept so that these many
# small elementwise ops stay under ATen's parallel grain (32768 elements) and run on the calling
# thread: no OpenMP hand-off per op, which on a busy machine costs a scheduler slice each.
TAPS_SAMPLES = 16000

_PAD_BEFORE, _PAD_AFTER = 1, 2  # zero border of the row buffer: rows/cols -1 .. H+1 exist


def _padded_rows(x: torch.Tensor, geo: ConvGeometry) -> torch.Tensor:
    """(N, C, H, W) -> rows (N*(H+3)*(W+3)*G, C/G) of a zero-bordered channels-last copy."""
    n, c, h, w = x.shape
    buf = x.new_empty(n, h + _PAD_BEFORE + _PAD_AFTER, w + _PAD_BEFORE + _PAD_AFTER, c)
    buf[:, :_PAD_BEFORE] = 0
    buf[:, h + _PAD_BEFORE :] = 0
    buf[:, :, :_PAD_BEFORE] = 0
    buf[:, :, w + _PAD_BEFORE :] = 0
    buf[:, _PAD_BEFORE : h + _PAD_BEFORE, _PAD_BEFORE : w + _PAD_BEFORE] = x.permute(0, 2, 3, 1)
    return buf.view(-1, c // geo.offset_groups)


def _pos_dtype(x: torch.Tensor) -> torch.dtype:
    # sample positions need more precision than fp16/bf16 give (639.5 is already coarse in fp16)
    return torch.float64 if x.dtype == torch.float64 else torch.float32


class _Taps:
    """Corner row indices and blend weights of the samples of one block (image n, output rows p0..p1).

    Sample order is the sample image's: (p, i, q, j, g). Work arrays are laid out (2 = y/x, rows, kh,
    Wo, kw, G) so every step is a contiguous, vectorised elementwise op; only the final (samples, 4)
    index and weight tables interleave. Built per block, so they stay small (32 bytes per sample).
    """

    def __init__(self, offset: torch.Tensor, mask: torch.Tensor | None, geo: ConvGeometry, dt: torch.dtype,
                 n: int, p0: int, p1: int, with_grad_terms: bool = False) -> None:  # fmt: skip
        dev = offset.device
        g, kh, kw, wo, lines = geo.offset_groups, geo.kernel_h, geo.kernel_w, geo.out_w, p1 - p0
        h, w = geo.height, geo.width
        hp, wp = h + _PAD_BEFORE + _PAD_AFTER, w + _PAD_BEFORE + _PAD_AFTER
        # base sampling position of tap (i, j) at output (p, q): (2, rows, kh, Wo, kw, 1)
        by = (torch.arange(p0, p1, device=dev) * geo.stride[0] - geo.padding[0])[:, None] + torch.arange(
            kh, device=dev
        ) * geo.dilation[0]
        bx = (torch.arange(wo, device=dev) * geo.stride[1] - geo.padding[1])[:, None] + torch.arange(
            kw, device=dev
        ) * geo.dilation[1]
        base = torch.stack((by[:, :, None, None].expand(lines, kh, wo, kw), bx[None, None].expand(lines, kh, wo, kw)))
        base = base.to(dt)[..., None]
        off = offset[n, :, p0:p1].view(g, kh, kw, 2, lines, wo).permute(3, 4, 1, 5, 2, 0)  # (2, rows, kh, Wo, kw, G)
        pos = torch.add(off.to(dt), base).nan_to_num_(nan=-2.0)  # NaN offsets sample nothing
        lo = torch.tensor((-1.0, -1.0), device=dev, dtype=dt).view(2, 1, 1, 1, 1, 1)
        hi = torch.tensor((float(h), float(w)), device=dev, dtype=dt).view(2, 1, 1, 1, 1, 1)
        if with_grad_terms:
            # the clamp below is flat outside (-1, H): no gradient there, as in the official kernel
            self.inside = ((pos > lo) & (pos < hi)).to(dt)
        pos = pos.clamp_(lo, hi)
        p_lo = torch.floor(pos)
        frac = pos.sub_(p_lo)  # weight of the high corner; 1 - frac of the low one
        wlo = 1 - frac
        self.scale = None
        wy_lo, wy_hi = wlo[0], frac[0]
        if mask is not None:
            self.scale = mask[n, :, p0:p1].view(g, kh, kw, lines, wo).permute(3, 1, 4, 2, 0).to(dt)
            wy_lo, wy_hi = wy_lo * self.scale, wy_hi * self.scale
        wx_lo, wx_hi = wlo[1], frac[1]
        self.weights = torch.stack((wy_lo * wx_lo, wy_lo * wx_hi, wy_hi * wx_lo, wy_hi * wx_hi), dim=-1).view(-1, 4)
        # row of the (low, low) corner in the padded buffer: ((n*Hp + y+1)*Wp + x+1)*G + g
        itype = torch.int32 if geo.batch * hp * wp * g < 2**31 else torch.int64  # int32: embedding_bag fast path
        row = ((p_lo[0].to(itype) + (n * hp + _PAD_BEFORE)) * wp + p_lo[1].to(itype) + _PAD_BEFORE) * g
        if g > 1:
            row = row + torch.arange(g, device=dev, dtype=itype)
        corners = torch.tensor((0, g, wp * g, wp * g + g), device=dev, dtype=itype)
        self.index = (row[..., None] + corners).reshape(-1, 4)
        if with_grad_terms:
            self.wlo = wlo
            self.whi = frac


def _block_lines(geo: ConvGeometry, elem: int) -> int:
    """How many output rows of one image a sample-image block holds."""
    per_line = geo.taps * geo.out_w * geo.in_channels * elem
    weight_bytes = geo.out_channels * (geo.in_channels // geo.groups) * geo.taps * elem
    return max(1, min(geo.out_h, max(COLUMN_BUDGET_BYTES, 2 * weight_bytes) // per_line))


def _blocks(geo: ConvGeometry, lines: int):
    """(n, p0, p1) of every block; blocks never straddle two images."""
    for n in range(geo.batch):
        for p0 in range(0, geo.out_h, lines):
            yield n, p0, min(geo.out_h, p0 + lines)


def _block_taps(offset, mask, geo: ConvGeometry, dt: torch.dtype, n: int, p0: int, p1: int):
    """(index, weights) of a block's samples, computed in pieces of at most ~TAPS_SAMPLES samples."""
    per_line = geo.taps * geo.out_w * geo.offset_groups  # samples per output row
    step = max(1, TAPS_SAMPLES // per_line)
    parts = [_Taps(offset, mask, geo, dt, n, q0, min(p1, q0 + step)) for q0 in range(p0, p1, step)]
    if len(parts) == 1:
        return parts[0].index, parts[0].weights
    return torch.cat([t.index for t in parts]), torch.cat([t.weights for t in parts])


def _sample_image(
    rows: torch.Tensor, index: torch.Tensor, weights: torch.Tensor, lines: int, geo: ConvGeometry
) -> torch.Tensor:
    """Blended samples of `lines` output rows as a channels-last image (1, C, lines*kh, Wo*kw)."""
    samples = F.embedding_bag(index, rows, per_sample_weights=weights.to(rows.dtype), mode="sum")
    img = samples.view(1, lines * geo.kernel_h, geo.out_w * geo.kernel_w, geo.in_channels)
    return img.permute(0, 3, 1, 2)


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def forward(
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor | None,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    geo: ConvGeometry,
) -> torch.Tensor:
    """Forward only (no autograd graph); used by the autograd Function and by inference."""
    rows = _padded_rows(x, geo)
    dt = _pos_dtype(x)
    fmt = torch.channels_last if _is_channels_last(x) else torch.contiguous_format
    out = torch.empty(
        geo.batch, geo.out_channels, geo.out_h, geo.out_w, dtype=x.dtype, device=x.device, memory_format=fmt
    )
    kernel = (geo.kernel_h, geo.kernel_w)
    for n, p0, p1 in _blocks(geo, _block_lines(geo, x.element_size())):
        index, weights = _block_taps(offset, mask, geo, dt, n, p0, p1)
        img = _sample_image(rows, index, weights, p1 - p0, geo)
        out[n, :, p0:p1] = F.conv2d(img, weight, bias, stride=kernel, groups=geo.groups)[0]
        del img  # one sample image alive at a time
    return out


def _blended_dot(rows, index, gcols, shape, w00, w01, w10, w11) -> torch.Tensor:
    """Per sample: <d loss / d sample, its 4 corners blended with these weights> (border rows are 0)."""
    wts = torch.stack((w00, w01, w10, w11), dim=-1).view(-1, 4).to(rows.dtype)
    blend = F.embedding_bag(index, rows, per_sample_weights=wts, mode="sum")
    return torch.linalg.vecdot(blend, gcols).to(w00.dtype).view(shape)


def backward(
    grad_out: torch.Tensor,
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor | None,
    weight: torch.Tensor,
    geo: ConvGeometry,
    needs: tuple[bool, bool, bool, bool, bool],
):
    """Gradients for (input, offset, mask, weight, bias); recomputes the sample image block by block."""
    need_x, need_off, need_mask, need_w, need_b = needs
    need_pos = need_off or need_mask
    rows = _padded_rows(x, geo)
    dt = _pos_dtype(x)
    g, kh, kw, wo = geo.offset_groups, geo.kernel_h, geo.kernel_w, geo.out_w
    cg = geo.in_channels // g
    grad_out = grad_out.to(x.dtype)
    grad_rows = torch.zeros_like(rows) if need_x else None
    grad_w = torch.zeros_like(weight) if need_w else None
    grad_off = torch.empty(offset.shape, dtype=dt, device=x.device) if need_off else None
    grad_mask = torch.empty(mask.shape, dtype=dt, device=x.device) if need_mask else None
    for n, p0, p1 in _blocks(geo, _block_lines(geo, x.element_size())):
        lines = p1 - p0
        taps = _Taps(offset, mask, geo, dt, n, p0, p1, with_grad_terms=need_pos)
        go = grad_out[n : n + 1, :, p0:p1].contiguous(memory_format=torch.channels_last)
        img = _sample_image(rows, taps.index, taps.weights, lines, geo)
        if need_w:
            grad_w += torch.ops.aten.convolution_backward(
                go, img, weight, None, [kh, kw], [0, 0], [1, 1], False, [0, 0], geo.groups, [False, True, False]
            )[1]
        if not (need_x or need_pos):
            continue
        g_img = torch.ops.aten.convolution_backward(
            go, img, weight, None, [kh, kw], [0, 0], [1, 1], False, [0, 0], geo.groups, [True, False, False]
        )[0]
        del img
        gcols = g_img.permute(0, 2, 3, 1).reshape(-1, cg)  # d loss / d sample, (samples, C/G)
        del g_img
        if need_x:
            wgt = taps.weights.to(gcols.dtype)
            for c in range(4):
                grad_rows.index_add_(0, taps.index[:, c], gcols * wgt[:, c, None])
        if not need_pos:
            continue
        shape = taps.wlo.shape[1:]  # (rows, kh, Wo, kw, G)
        wy_lo, wy_hi, wx_lo, wx_hi = taps.wlo[0], taps.whi[0], taps.wlo[1], taps.whi[1]
        args = (rows, taps.index, gcols, shape)
        if need_mask:  # d sample / d mask = the unmasked bilinear sample
            gm = _blended_dot(*args, wy_lo * wx_lo, wy_lo * wx_hi, wy_hi * wx_lo, wy_hi * wx_hi)
            grad_mask[n, :, p0:p1] = gm.permute(4, 1, 3, 0, 2).reshape(g * kh * kw, lines, wo)
        if need_off:  # d sample / d y and d x: bilinear blends of the corner differences
            gy = _blended_dot(*args, -wx_lo, -wx_hi, wx_lo, wx_hi) * taps.inside[0]
            gx = _blended_dot(*args, -wy_lo, wy_lo, -wy_hi, wy_hi) * taps.inside[1]
            if taps.scale is not None:
                gy, gx = gy * taps.scale, gx * taps.scale
            gpos = torch.stack((gy, gx))  # (2, rows, kh, Wo, kw, G)
            grad_off[n, :, p0:p1] = gpos.permute(5, 2, 4, 0, 1, 3).reshape(2 * g * kh * kw, lines, wo)
    grad_x = grad_bias = None
    if need_x:
        h, w = geo.height, geo.width
        padded = grad_rows.view(geo.batch, h + _PAD_BEFORE + _PAD_AFTER, w + _PAD_BEFORE + _PAD_AFTER, -1)
        grad_x = padded[:, _PAD_BEFORE : h + _PAD_BEFORE, _PAD_BEFORE : w + _PAD_BEFORE].permute(0, 3, 1, 2)
        fmt = torch.channels_last if _is_channels_last(x) else torch.contiguous_format
        grad_x = grad_x.contiguous(memory_format=fmt)
    if need_off:
        grad_off = grad_off.to(offset.dtype)
    if need_mask:
        grad_mask = grad_mask.to(mask.dtype)
    if need_b:
        grad_bias = grad_out.sum((0, 2, 3))
    return grad_x, grad_off, grad_mask, grad_w, grad_bias


DeformConv2dFunction = recomputing_function("DeformConv2dFunction", forward, backward)


def deform_conv2d_torch(
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor | None,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    geo: ConvGeometry,
) -> torch.Tensor:
    """Entry point of the torch backend (arguments already checked by `ops.geometry.check_call`)."""
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, offset, mask, weight, bias)):
        return DeformConv2dFunction.apply(x, offset, mask, weight, bias, geo)
    return forward(x, offset, mask, weight, bias, geo)
