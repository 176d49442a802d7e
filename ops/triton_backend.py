"""Triton backend: implicit-GEMM modulated deformable conv for CUDA, forward and backward.

Why implicit GEMM: the samples are built tile by tile inside the matrix multiply (a BLOCK_M x BLOCK_K
tile of bilinear samples is blended in registers and fed to `tl.dot`), so no im2col buffer of
taps x channels x pixels is ever written to memory.

Kernels (all accumulate in fp32; inputs fp32, fp16 or bf16):
- `_fwd_kernel`: out[m, o] = bias[o] + sum_{k, c} sample(m, k, c) * W[o, c, k]; grid (M tiles, O tiles, conv groups).
- `_bwd_data_kernel`: d(columns) = grad_out @ W^T per tap, scattered to grad_input with atomics at the 4
  corners, and reduced against the corner values into grad_offset / grad_mask.
- `_bwd_weight_kernel`: grad_W[k, c, o] = sum_m sample(m, k, c) * grad_out[m, o], M split across programs
  and summed with atomics.

The kernels read x through its strides; the host passes channels-last x so that a tile's channels are
contiguous. Under TRITON_INTERPRET=1 (set before triton is imported) the same kernels run on CPU
tensors in Triton's interpreter; that is how the test-suite checks them without a GPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ops.autograd import recomputing_function
from ops.geometry import ConvGeometry

try:  # which flavour of kernel this process got (decided by TRITON_INTERPRET when triton.jit ran)
    from triton.runtime.interpreter import InterpretedFunction as _Interpreted
except ImportError:  # pragma: no cover - layout of future triton versions
    _Interpreted = ()


@triton.jit
def _deform_group(c, CG, NG, ONE_GROUP: tl.constexpr):
    """Deformable group of each channel of a tile, as a row (1, BLOCK_K); one group: the constant 0.
    Padded channels past the last group take the last one (their loads are masked anyway)."""
    return 0 if ONE_GROUP else tl.minimum(c // CG, NG - 1)[None, :]


@triton.jit
def _corner_weights(
    off_ptr, msk_ptr, offm, mcol, by, bx, rows_ok, c, CG, NG, H, W, soc, smc, k,
    KK: tl.constexpr, HAS_MASK: tl.constexpr, ONE_GROUP: tl.constexpr,
):  # fmt: skip
    """Bilinear corner rows/cols, in-image flags and weights of one tap for a (pixels, channels) tile
    (spec §3.3), each (BLOCK_M, BLOCK_K) or (BLOCK_M, 1) when one deformable group serves all channels.

    offm, mcol: per-pixel base offsets into offset/mask (n, p, q strides included), by, bx: the tap's
    base positions, rows_ok: which pixels exist (loads outside read nothing), all (BLOCK_M,); c: the
    tile's channels (BLOCK_K,), which pick the deformable group. Each corner gets its own in-image
    test; together they give the official rule (0 unless -1 < y < H and -1 < x < W).
    """
    ocol = _deform_group(c, CG, NG, ONE_GROUP)
    offm = offm[:, None]
    mcol = mcol[:, None]
    lmask = rows_ok[:, None]
    by = by[:, None]
    bx = bx[:, None]
    dy = tl.load(off_ptr + offm + (ocol * 2 * KK + 2 * k) * soc, mask=lmask, other=0.0).to(tl.float32)
    dx = tl.load(off_ptr + offm + (ocol * 2 * KK + 2 * k + 1) * soc, mask=lmask, other=0.0).to(tl.float32)
    y = by.to(tl.float32) + dy
    x = bx.to(tl.float32) + dx
    y0f = tl.floor(y)
    x0f = tl.floor(x)
    ly = y - y0f
    lx = x - x0f
    hf = H * 1.0  # not .to(): Triton passes an int argument equal to 1 as a constant
    wf = W * 1.0
    vy0 = (y0f >= 0.0) & (y0f <= hf - 1.0)
    vy1 = (y0f >= -1.0) & (y0f <= hf - 2.0)
    vx0 = (x0f >= 0.0) & (x0f <= wf - 1.0)
    vx1 = (x0f >= -1.0) & (x0f <= wf - 2.0)
    # sanitised integer corners (NaN/huge offsets never produce a wild address: loads are masked too)
    y0 = tl.where(vy0 | vy1, y0f, 0.0).to(tl.int32)
    x0 = tl.where(vx0 | vx1, x0f, 0.0).to(tl.int32)
    wy0 = tl.where(vy0, 1.0 - ly, 0.0)
    wy1 = tl.where(vy1, ly, 0.0)
    wx0 = tl.where(vx0, 1.0 - lx, 0.0)
    wx1 = tl.where(vx1, lx, 0.0)
    if HAS_MASK:
        m = tl.load(msk_ptr + mcol + (ocol * KK + k) * smc, mask=lmask, other=0.0).to(tl.float32)
    else:
        m = tl.full(wy0.shape, 1.0, tl.float32)
    return y0, x0, vy0, vy1, vx0, vx1, wy0, wy1, wx0, wx1, m


@triton.jit
def _blend(x_ptr, base, y0, x0, vy0, vy1, vx0, vx1, wy0, wy1, wx0, wx1, ok, sxh, sxw):
    """Masked bilinear blend of the 4 corners for a (BLOCK_M, BLOCK_K) tile, in fp32."""
    p00 = x_ptr + base + y0 * sxh + x0 * sxw
    v00 = tl.load(p00, mask=ok & vy0 & vx0, other=0.0).to(tl.float32)
    v01 = tl.load(p00 + sxw, mask=ok & vy0 & vx1, other=0.0).to(tl.float32)
    v10 = tl.load(p00 + sxh, mask=ok & vy1 & vx0, other=0.0).to(tl.float32)
    v11 = tl.load(p00 + sxh + sxw, mask=ok & vy1 & vx1, other=0.0).to(tl.float32)
    return wy0 * (wx0 * v00 + wx1 * v01) + wy1 * (wx0 * v10 + wx1 * v11), v00, v01, v10, v11


@triton.jit
def _mma(a, b, acc, DOT_PRECISION: tl.constexpr):
    """acc += a @ b. DOT_PRECISION "upcast" multiplies in fp32: Triton's CPU interpreter has no bf16 dot."""
    if DOT_PRECISION == "upcast":
        return tl.dot(a.to(tl.float32), b.to(tl.float32), acc, input_precision="ieee")
    else:
        return tl.dot(a, b, acc, input_precision=DOT_PRECISION)


@triton.jit
def _tile_coords(rm, HO, WO, SH, SW, PH, PW, DH, DW, k, KW: tl.constexpr):
    ho_wo = HO * WO
    n = rm // ho_wo
    pq = rm % ho_wo
    p = pq // WO
    q = pq % WO
    ki = k // KW
    kj = k % KW
    by = p * SH - PH + ki * DH
    bx = q * SW - PW + kj * DW
    return n, p, q, by, bx


@triton.jit
def _fwd_kernel(
    x_ptr, off_ptr, msk_ptr, w_ptr, b_ptr, out_ptr,
    M, H, W, O, HO, WO, CPG, OPG, CG, NG,
    sxn, sxc, sxh, sxw, son, soc, soh, sow, smn, smc, smh, smw,
    SH, SW, PH, PW, DH, DW,
    KH: tl.constexpr, KW: tl.constexpr, HAS_MASK: tl.constexpr, HAS_BIAS: tl.constexpr,
    ONE_GROUP: tl.constexpr, DOT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):  # fmt: skip
    KK: tl.constexpr = KH * KW
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    gc = tl.program_id(2)
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    m_ok = rm < M
    ro = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    o_ok = ro < OPG
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, KK):
        n, p, q, by, bx = _tile_coords(rm, HO, WO, SH, SW, PH, PW, DH, DW, k, KW)
        n64 = n.to(tl.int64)
        offm = n64 * son + p * soh + q * sow
        mcol = n64 * smn + p * smh + q * smw
        for c0 in range(0, CPG, BLOCK_K):
            rc = c0 + tl.arange(0, BLOCK_K)
            c_ok = rc < CPG
            c = gc * CPG + rc
            ok = m_ok[:, None] & c_ok[None, :]
            y0, x0, vy0, vy1, vx0, vx1, wy0, wy1, wx0, wx1, msk = _corner_weights(
                off_ptr, msk_ptr, offm, mcol, by, bx, m_ok, c, CG, NG, H, W, soc, smc, k, KK, HAS_MASK, ONE_GROUP
            )
            base = n64[:, None] * sxn + c[None, :] * sxc
            a, _v00, _v01, _v10, _v11 = _blend(
                x_ptr, base, y0, x0, vy0, vy1, vx0, vx1, wy0 * msk, wy1 * msk, wx0, wx1, ok, sxh, sxw
            )
            w_rows = (gc * KK + k) * CPG + rc
            wt = tl.load(w_ptr + w_rows[:, None] * OPG + ro[None, :], mask=c_ok[:, None] & o_ok[None, :], other=0.0)
            acc = _mma(a.to(wt.dtype), wt, acc, DOT_PRECISION)
    if HAS_BIAS:
        acc += tl.load(b_ptr + gc * OPG + ro, mask=o_ok, other=0.0).to(tl.float32)[None, :]
    out_cols = gc * OPG + ro
    tl.store(
        out_ptr + rm[:, None].to(tl.int64) * O + out_cols[None, :],
        acc.to(out_ptr.dtype.element_ty),
        mask=m_ok[:, None] & o_ok[None, :],
    )


@triton.jit
def _bwd_data_kernel(
    x_ptr, off_ptr, msk_ptr, w_ptr, gout_ptr, gx_ptr, goff_ptr, gmsk_ptr,
    M, H, W, O, HO, WO, CPG, OPG, CG, NG,
    sxn, sxc, sxh, sxw, son, soc, soh, sow, smn, smc, smh, smw,
    sgn, sgc, sgh, sgw,
    SH, SW, PH, PW, DH, DW,
    KH: tl.constexpr, KW: tl.constexpr, HAS_MASK: tl.constexpr, ONE_GROUP: tl.constexpr,
    NEED_X: tl.constexpr, NEED_POS: tl.constexpr, DOT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):  # fmt: skip
    """grid (M tiles, taps, conv groups). gx/goff/gmsk are fp32; goff/gmsk contiguous like offset/mask."""
    KK: tl.constexpr = KH * KW
    pid_m = tl.program_id(0)
    k = tl.program_id(1)
    gc = tl.program_id(2)
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    m_ok = rm < M
    n, p, q, by, bx = _tile_coords(rm, HO, WO, SH, SW, PH, PW, DH, DW, k, KW)
    n64 = n.to(tl.int64)
    offm = n64 * son + p * soh + q * sow
    mcol = n64 * smn + p * smh + q * smw
    plane = HO * WO
    pix = p * WO + q
    gy_acc = tl.zeros((BLOCK_M,), dtype=tl.float32)
    gxx_acc = tl.zeros((BLOCK_M,), dtype=tl.float32)
    gm_acc = tl.zeros((BLOCK_M,), dtype=tl.float32)
    for c0 in range(0, CPG, BLOCK_K):
        rc = c0 + tl.arange(0, BLOCK_K)
        c_ok = rc < CPG
        c = gc * CPG + rc
        ok = m_ok[:, None] & c_ok[None, :]
        # d loss / d column for this tap and channel tile: grad_out (M, O_g) @ W_k^T (O_g, K_tile)
        gcol = tl.zeros((BLOCK_M, BLOCK_K), dtype=tl.float32)
        w_rows = (gc * KK + k) * CPG + rc
        for o0 in range(0, OPG, BLOCK_N):
            ro = o0 + tl.arange(0, BLOCK_N)
            o_ok = ro < OPG
            g = tl.load(
                gout_ptr + rm[:, None].to(tl.int64) * O + (gc * OPG + ro)[None, :],
                mask=m_ok[:, None] & o_ok[None, :],
                other=0.0,
            )
            wt = tl.load(w_ptr + w_rows[None, :] * OPG + ro[:, None], mask=c_ok[None, :] & o_ok[:, None], other=0.0)
            gcol = _mma(g, wt, gcol, DOT_PRECISION)
        y0, x0, vy0, vy1, vx0, vx1, wy0, wy1, wx0, wx1, msk = _corner_weights(
            off_ptr, msk_ptr, offm, mcol, by, bx, m_ok, c, CG, NG, H, W, soc, smc, k, KK, HAS_MASK, ONE_GROUP
        )
        if NEED_X:
            gm = gcol * msk
            gbase = gx_ptr + n64[:, None] * sgn + c[None, :] * sgc + y0 * sgh + x0 * sgw
            tl.atomic_add(gbase, gm * wy0 * wx0, mask=ok & vy0 & vx0)
            tl.atomic_add(gbase + sgw, gm * wy0 * wx1, mask=ok & vy0 & vx1)
            tl.atomic_add(gbase + sgh, gm * wy1 * wx0, mask=ok & vy1 & vx0)
            tl.atomic_add(gbase + sgh + sgw, gm * wy1 * wx1, mask=ok & vy1 & vx1)
        if NEED_POS:
            base = n64[:, None] * sxn + c[None, :] * sxc
            _a, v00, v01, v10, v11 = _blend(x_ptr, base, y0, x0, vy0, vy1, vx0, vx1, wy0, wy1, wx0, wx1, ok, sxh, sxw)
            s00 = gcol * v00
            s01 = gcol * v01
            s10 = gcol * v10
            s11 = gcol * v11
            fy0 = tl.where(vy0, 1.0, 0.0)
            fy1 = tl.where(vy1, 1.0, 0.0)
            fx0 = tl.where(vx0, 1.0, 0.0)
            fx1 = tl.where(vx1, 1.0, 0.0)
            # d sample / d y and d x with the per-corner in-image flags, times the mask
            d_y = msk * (fy1 * (wx0 * s10 + wx1 * s11) - fy0 * (wx0 * s00 + wx1 * s01))
            d_x = msk * (wy0 * (fx1 * s01 - fx0 * s00) + wy1 * (fx1 * s11 - fx0 * s10))
            d_m = wy0 * (wx0 * s00 + wx1 * s01) + wy1 * (wx0 * s10 + wx1 * s11)
            d_y = tl.where(ok, d_y, 0.0)
            d_x = tl.where(ok, d_x, 0.0)
            d_m = tl.where(ok, d_m, 0.0)
            if ONE_GROUP:
                gy_acc += tl.sum(d_y, axis=1)
                gxx_acc += tl.sum(d_x, axis=1)
                gm_acc += tl.sum(d_m, axis=1)
            else:
                grp = _deform_group(c, CG, NG, ONE_GROUP)
                oidx = (n64[:, None] * (2 * NG * KK) + grp * (2 * KK) + 2 * k) * plane + pix[:, None]
                tl.atomic_add(goff_ptr + oidx, d_y, mask=ok)
                tl.atomic_add(goff_ptr + oidx + plane, d_x, mask=ok)
                if HAS_MASK:
                    midx = (n64[:, None] * (NG * KK) + grp * KK + k) * plane + pix[:, None]
                    tl.atomic_add(gmsk_ptr + midx, d_m, mask=ok)
    if NEED_POS and ONE_GROUP:
        oidx = (n64 * (2 * KK) + 2 * k) * plane + pix
        tl.atomic_add(goff_ptr + oidx, gy_acc, mask=m_ok)
        tl.atomic_add(goff_ptr + oidx + plane, gxx_acc, mask=m_ok)
        if HAS_MASK:
            tl.atomic_add(gmsk_ptr + (n64 * KK + k) * plane + pix, gm_acc, mask=m_ok)


@triton.jit
def _bwd_weight_kernel(
    x_ptr, off_ptr, msk_ptr, gout_ptr, gw_ptr,
    M, H, W, O, HO, WO, CPG, OPG, CG, NG, M_PER_SPLIT,
    sxn, sxc, sxh, sxw, son, soc, soh, sow, smn, smc, smh, smw,
    SH, SW, PH, PW, DH, DW,
    KH: tl.constexpr, KW: tl.constexpr, HAS_MASK: tl.constexpr, ONE_GROUP: tl.constexpr,
    DOT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):  # fmt: skip
    """grid (taps * channel tiles, O tiles, conv groups * M splits); gw fp32 (groups, taps, CPG, OPG)."""
    KK: tl.constexpr = KH * KW
    n_ctiles = tl.cdiv(CPG, BLOCK_K)
    k = tl.program_id(0) // n_ctiles
    c0 = (tl.program_id(0) % n_ctiles) * BLOCK_K
    ro = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    o_ok = ro < OPG
    n_splits = tl.cdiv(M, M_PER_SPLIT)
    gc = tl.program_id(2) // n_splits
    split = tl.program_id(2) % n_splits
    rc = c0 + tl.arange(0, BLOCK_K)
    c_ok = rc < CPG
    c = gc * CPG + rc
    acc = tl.zeros((BLOCK_K, BLOCK_N), dtype=tl.float32)
    m_start = split * M_PER_SPLIT
    for m0 in range(m_start, m_start + M_PER_SPLIT, BLOCK_M):
        rm = m0 + tl.arange(0, BLOCK_M)
        m_ok = (rm < M) & (rm < m_start + M_PER_SPLIT)
        n, p, q, by, bx = _tile_coords(rm, HO, WO, SH, SW, PH, PW, DH, DW, k, KW)
        n64 = n.to(tl.int64)
        offm = n64 * son + p * soh + q * sow
        mcol = n64 * smn + p * smh + q * smw
        ok = m_ok[:, None] & c_ok[None, :]
        y0, x0, vy0, vy1, vx0, vx1, wy0, wy1, wx0, wx1, msk = _corner_weights(
            off_ptr, msk_ptr, offm, mcol, by, bx, m_ok, c, CG, NG, H, W, soc, smc, k, KK, HAS_MASK, ONE_GROUP
        )
        base = n64[:, None] * sxn + c[None, :] * sxc
        a, _v00, _v01, _v10, _v11 = _blend(
            x_ptr, base, y0, x0, vy0, vy1, vx0, vx1, wy0 * msk, wy1 * msk, wx0, wx1, ok, sxh, sxw
        )
        g = tl.load(
            gout_ptr + rm[:, None].to(tl.int64) * O + (gc * OPG + ro)[None, :],
            mask=m_ok[:, None] & o_ok[None, :],
            other=0.0,
        )
        acc = _mma(tl.trans(a.to(g.dtype)), g, acc, DOT_PRECISION)
    w_rows = (gc * KK + k) * CPG + rc
    tl.atomic_add(gw_ptr + w_rows[:, None] * OPG + ro[None, :], acc, mask=c_ok[:, None] & o_ok[None, :])


# ----------------------------------------------------------------------------------------------
# host side

SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
BLOCK_M = 64
NUM_WARPS = 4
# Rows of M one weight-gradient program reduces before its atomic add; None = pick for the device.
WEIGHT_SPLIT_ROWS: int | None = None


def interpreted() -> bool:
    """True when this module's kernels were built for Triton's CPU interpreter."""
    return isinstance(_fwd_kernel, _Interpreted) if _Interpreted else False


def _check_device(x: torch.Tensor) -> None:
    if interpreted():
        if x.device.type != "cpu":
            raise ValueError(
                "the Triton backend was loaded in interpreter mode (TRITON_INTERPRET=1) and runs CPU tensors "
                "only; unset TRITON_INTERPRET for CUDA"
            )
    elif x.device.type != "cuda":
        raise ValueError(f"the Triton backend needs CUDA tensors, got {x.device}; use ops.set_backend('torch') on CPU")
    if x.dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"the Triton backend supports float32, float16 and bfloat16, got {x.dtype}; "
            "use ops.set_backend('torch') for other dtypes"
        )


def _pow2_between(value: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, triton.next_power_of_2(max(1, value))))


def _dot_precision(dtype: torch.dtype) -> str:
    if dtype == torch.bfloat16 and interpreted():
        return "upcast"  # the interpreter multiplies bf16 bit patterns as integers
    if dtype != torch.float32:
        return "tf32"  # tl.dot's default; it only affects fp32 operands
    # this op stands in for a convolution, so follow cuDNN's TF32 switch
    return "tf32" if torch.backends.cudnn.allow_tf32 else "ieee"


def _common_args(x: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor | None, geo: ConvGeometry):
    m_ = mask if mask is not None else offset
    sm = mask.stride() if mask is not None else (0, 0, 0, 0)
    strides = (*x.stride()[:2], *x.stride()[2:], *offset.stride(), *sm)
    return m_, strides


def _weight_tiles(weight: torch.Tensor, geo: ConvGeometry) -> torch.Tensor:
    """(O, C/gc, kh, kw) -> contiguous (gc, taps, C/gc, O/gc) so a tile of output channels is contiguous."""
    gc = geo.groups
    w = weight.view(gc, geo.out_channels // gc, geo.in_channels // gc, geo.taps)
    return w.permute(0, 3, 2, 1).contiguous()


def _blocks(geo: ConvGeometry) -> tuple[int, int]:
    cpg = geo.in_channels // geo.groups
    opg = geo.out_channels // geo.groups
    return _pow2_between(opg, 16, 128), _pow2_between(cpg, 16, 32)


def _geo_args(geo: ConvGeometry) -> tuple[int, ...]:
    return (*geo.stride, *geo.padding, *geo.dilation)


def _forward(x, offset, mask, weight, bias, geo: ConvGeometry) -> torch.Tensor:
    _check_device(x)
    xc = x.contiguous(memory_format=torch.channels_last)
    wt = _weight_tiles(weight, geo)
    m_total = geo.batch * geo.out_pixels
    out = torch.empty(m_total, geo.out_channels, dtype=x.dtype, device=x.device)
    block_n, block_k = _blocks(geo)
    msk, strides = _common_args(xc, offset, mask, geo)
    cpg, opg = geo.in_channels // geo.groups, geo.out_channels // geo.groups
    grid = (triton.cdiv(m_total, BLOCK_M), triton.cdiv(opg, block_n), geo.groups)
    _fwd_kernel[grid](
        xc, offset, msk, wt, bias if bias is not None else wt, out,
        m_total, geo.height, geo.width, geo.out_channels, geo.out_h, geo.out_w, cpg, opg,
        geo.in_channels // geo.offset_groups, geo.offset_groups,
        *strides, *_geo_args(geo),
        KH=geo.kernel_h, KW=geo.kernel_w, HAS_MASK=mask is not None, HAS_BIAS=bias is not None,
        ONE_GROUP=geo.offset_groups == 1, DOT_PRECISION=_dot_precision(x.dtype),
        BLOCK_M=BLOCK_M, BLOCK_N=block_n, BLOCK_K=block_k, num_warps=NUM_WARPS,
    )  # fmt: skip
    out = out.view(geo.batch, geo.out_h, geo.out_w, geo.out_channels).permute(0, 3, 1, 2)
    return out if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous() else out.contiguous()


def _weight_split_rows(geo: ConvGeometry, programs: int, device: torch.device) -> int:
    m_total = geo.batch * geo.out_pixels
    if WEIGHT_SPLIT_ROWS is not None:
        rows = WEIGHT_SPLIT_ROWS
    else:
        sms = torch.cuda.get_device_properties(device).multi_processor_count if device.type == "cuda" else 1
        splits = max(1, min(triton.cdiv(m_total, BLOCK_M), triton.cdiv(4 * sms, max(1, programs))))
        rows = triton.cdiv(m_total, splits)
    return triton.cdiv(max(1, rows), BLOCK_M) * BLOCK_M


def _backward(grad_out, x, offset, mask, weight, geo: ConvGeometry, needs):
    need_x, need_off, need_mask, need_w, need_b = needs
    xc = x.contiguous(memory_format=torch.channels_last)
    wt = _weight_tiles(weight, geo)
    m_total = geo.batch * geo.out_pixels
    gout = grad_out.permute(0, 2, 3, 1).contiguous().view(m_total, geo.out_channels).to(x.dtype)
    block_n, block_k = _blocks(geo)
    msk, strides = _common_args(xc, offset, mask, geo)
    cpg, opg = geo.in_channels // geo.groups, geo.out_channels // geo.groups
    cg = geo.in_channels // geo.offset_groups
    prec = _dot_precision(x.dtype)
    grad_x = grad_off = grad_mask = grad_w = grad_b = None
    need_pos = need_off or need_mask
    if need_x or need_pos:
        gx = torch.zeros(geo.batch, geo.height, geo.width, geo.in_channels, dtype=torch.float32, device=x.device)
        goff = torch.zeros(offset.shape, dtype=torch.float32, device=x.device)
        gmsk = torch.zeros(mask.shape if mask is not None else (1,), dtype=torch.float32, device=x.device)
        sg = (gx.stride(0), gx.stride(3), gx.stride(1), gx.stride(2))
        grid = (triton.cdiv(m_total, BLOCK_M), geo.taps, geo.groups)
        _bwd_data_kernel[grid](
            xc, offset, msk, wt, gout, gx, goff, gmsk,
            m_total, geo.height, geo.width, geo.out_channels, geo.out_h, geo.out_w, cpg, opg, cg,
            geo.offset_groups, *strides, *sg, *_geo_args(geo),
            KH=geo.kernel_h, KW=geo.kernel_w, HAS_MASK=mask is not None, ONE_GROUP=geo.offset_groups == 1,
            NEED_X=need_x, NEED_POS=need_pos, DOT_PRECISION=prec,
            BLOCK_M=BLOCK_M, BLOCK_N=block_n, BLOCK_K=block_k, num_warps=NUM_WARPS,
        )  # fmt: skip
        if need_x:
            grad_x = gx.permute(0, 3, 1, 2).to(x.dtype)
            if not (x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()):
                grad_x = grad_x.contiguous()
        if need_off:
            grad_off = goff.to(offset.dtype)
        if need_mask:
            grad_mask = gmsk.to(mask.dtype)
    if need_w:
        gw = torch.zeros(geo.groups, geo.taps, cpg, opg, dtype=torch.float32, device=x.device)
        c_tiles = triton.cdiv(cpg, block_k)
        o_tiles = triton.cdiv(opg, block_n)
        split_rows = _weight_split_rows(geo, geo.taps * c_tiles * o_tiles * geo.groups, x.device)
        grid = (geo.taps * c_tiles, o_tiles, geo.groups * triton.cdiv(m_total, split_rows))
        _bwd_weight_kernel[grid](
            xc, offset, msk, gout, gw,
            m_total, geo.height, geo.width, geo.out_channels, geo.out_h, geo.out_w, cpg, opg, cg,
            geo.offset_groups, split_rows,
            *strides, *_geo_args(geo),
            KH=geo.kernel_h, KW=geo.kernel_w, HAS_MASK=mask is not None, ONE_GROUP=geo.offset_groups == 1,
            DOT_PRECISION=prec, BLOCK_M=BLOCK_M, BLOCK_N=block_n, BLOCK_K=block_k, num_warps=NUM_WARPS,
        )  # fmt: skip
        grad_w = gw.permute(0, 3, 2, 1).reshape(weight.shape).to(weight.dtype)
    if need_b:
        grad_b = gout.float().sum(0).to(weight.dtype)
    return grad_x, grad_off, grad_mask, grad_w, grad_b


TritonDeformConv2dFunction = recomputing_function("TritonDeformConv2dFunction", _forward, _backward)


def deform_conv2d_triton(x, offset, mask, weight, bias, geo: ConvGeometry) -> torch.Tensor:
    """Entry point of the Triton backend (arguments already checked by `ops.geometry.check_call`)."""
    _check_device(x)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, offset, mask, weight, bias)):
        return TritonDeformConv2dFunction.apply(x, offset, mask, weight, bias, geo)
    return _forward(x, offset, mask, weight, bias, geo)
