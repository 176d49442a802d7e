"""Surface normals from depth by a windowed least-squares plane fit (Gupta et al.'s HHA code).

In each (2r+1)^2 window, fit a*x + b*y + c = 1/Z over the valid pixels (x = X/Z, y = Y/Z);
the plane normal is (a, b, c). The normal equations are built from window sums.

Why it is fast and accurate on any device (docs/hha.md, spec hha.md §12):
- Window sums of 9 moment images: 2r+1 shifted adds down the columns, then a running sum
  along each row and one difference per window; no per-pixel loops, no 441-tap
  convolutions. On the CPU this runs in horizontal strips that stay in cache.
- The moments are float64 and the mask moments are sums of integer polynomials of the
  pixel index, so they are exact: a window with no valid pixel gives exactly 0 and the
  normal becomes NaN ("no normal"), never rounding noise.
- The fit is rewritten in pixel offsets from the window centre (the "centred" form), so
  the 3x3 system is well conditioned and is solved in float32. It is solved with the
  adjugate (det(A) * A^-1 b, no division), like the reference.
"""

from __future__ import annotations

import torch

Moments = tuple[torch.Tensor, ...]
"""Nine float32 (B, H', W') window sums: n, su, sv, suu, suv, svv, sw, swu, swv."""


def _window_sums_1d(c: torch.Tensor, r: int, dim: int, stride: int) -> torch.Tensor:
    """Sums over [p - r, p + r] (clamped to the image) at p = 0, stride, 2*stride, ... along `dim`.

    c holds inclusive running sums along `dim`: sum[lo..hi] = c[hi] - c[lo - 1], with
    c[-1] = 0. Every case is a strided slice (no index tensors, so no GPU synchronisation):
    positions near the start have no lower term, near the end the upper end is clamped.
    """
    n = c.shape[dim]
    m = (n + stride - 1) // stride
    shape = list(c.shape)
    shape[dim] = m
    out = c.new_empty(shape)

    def sl(t: torch.Tensor, start: int, count: int, step: int = 1) -> torch.Tensor:
        idx = [slice(None)] * t.ndim
        idx[dim] = slice(start, start + (count - 1) * step + 1, step)
        return t[tuple(idx)]

    first = min(m, -(-(r + 1) // stride))  # first position with p - r - 1 >= 0
    last = max(0, min(m, (n - 1 - r) // stride + 1)) if n - 1 - r >= 0 else 0  # first with p + r > n - 1
    top = sl(c, n - 1, 1)
    if first < last:  # both ends inside: c[p + r] - c[p - r - 1]
        k = last - first
        p0 = first * stride
        torch.sub(sl(c, p0 + r, k, stride), sl(c, p0 - r - 1, k, stride), out=sl(out, first, k))
    lo_only = min(first, last)
    if lo_only > 0:  # window starts at the image start: c[p + r]
        sl(out, 0, lo_only).copy_(sl(c, r, lo_only, stride))
    hi_from = max(first, last)
    if hi_from < m:  # window ends at the image end: c[n - 1] - c[p - r - 1]
        k = m - hi_from
        torch.sub(top, sl(c, hi_from * stride - r - 1, k, stride), out=sl(out, hi_from, k))
    if last < first:  # window covers the whole line: c[n - 1]
        sl(out, last, first - last).copy_(top.expand_as(sl(out, last, first - last)))
    return out


def _column_window_sums(x: torch.Tensor, r: int, start: int, count: int, step: int) -> torch.Tensor:
    """Sums of rows [p - r, p + r] (clamped to x) at rows p = start + j*step, j < count.

    x: (..., R, W). 2r+1 shifted adds of whole row blocks: exact for the integer mask
    moments, cache-friendly on the CPU, and no running sum along the (slow) row axis.
    """
    rows = x.shape[-2]
    out = x.new_zeros((*x.shape[:-2], count, x.shape[-1]))
    for k in range(-r, r + 1):
        j0 = max(0, -(-(-k - start) // step))  # first j with start + j*step + k >= 0
        j1 = min(count, (rows - 1 - k - start) // step + 1) if rows - 1 - k - start >= 0 else 0
        if j0 < j1:
            a = start + j0 * step + k
            out[..., j0:j1, :] += x[..., a : a + (j1 - j0 - 1) * step + 1 : step, :]
    return out


class WindowMoments:
    """The 9 raw moments of a batch (float64); centred window sums for any radius on demand.

    valid: (B, H, W) bool, the pixels taking part in the fit; inv_z: (B, H, W) 1/Z on valid
    pixels (any unit: it only scales the normal), 0 elsewhere.
    """

    def __init__(self, valid: torch.Tensor, inv_z: torch.Tensor) -> None:
        bsz, h, w = valid.shape
        dev = valid.device
        f64 = torch.float64
        # Pixel indices relative to the image centre: integers, so the mask moments are exact.
        self.u = torch.arange(w, dtype=f64, device=dev) - (w // 2)
        self.v = (torch.arange(h, dtype=f64, device=dev) - (h // 2))[:, None]
        buf = torch.empty(bsz, 9, h, w, dtype=f64, device=dev)
        vm, vu, vv, vuu, vuv, vvv, iz, izu, izv = buf.unbind(1)
        vm.copy_(valid)
        torch.mul(vm, self.u, out=vu)
        torch.mul(vm, self.v, out=vv)
        torch.mul(vu, self.u, out=vuu)
        torch.mul(vu, self.v, out=vuv)
        torch.mul(vv, self.v, out=vvv)
        iz.copy_(inv_z)
        torch.mul(iz, self.u, out=izu)
        torch.mul(iz, self.v, out=izv)
        self.raw = buf

    def centred(self, r: int, stride: int = 1, start: int = 0, count: int | None = None) -> Moments:
        """Window sums at rows start, start + stride, ... (count of them; default: to the
        end) and every stride-th column, in offsets (du, dv) from each window's centre.

        Windows are truncated at the edges of the moments given (zero padding). Returns
        float32 (n, sum du, sum dv, sum du^2, sum du dv, sum dv^2, sum w, sum w du, sum w dv)
        with w = 1/Z, each (B, count, ceil(W/stride)).
        """
        if r < 0:
            raise ValueError(f"window radius must be >= 0, got {r}")
        if count is None:
            count = -(-(self.raw.shape[-2] - start) // stride)
        cols = _column_window_sums(self.raw, r, start, count, stride)
        cols.cumsum_(-1)  # running sums along the rows (fast: the contiguous axis)
        s = _window_sums_1d(cols, r, -1, stride)
        n, ru, rv, ruu, ruv, rvv, rw, rwu, rwv = s.unbind(1)
        up, vp = self.u[::stride], self.v[start : start + (count - 1) * stride + 1 : stride]
        f32 = torch.float32
        # Exact in float64 (integers), then exact in float32 (small integers).
        su = torch.addcmul(ru, up, n, value=-1)
        sv = torch.addcmul(rv, vp, n, value=-1)
        suu = torch.addcmul(ruu, up, ru + su, value=-1)
        suv = torch.addcmul(torch.addcmul(ruv, up, rv, value=-1), vp, su, value=-1)
        svv = torch.addcmul(rvv, vp, rv + sv, value=-1)
        swu = torch.addcmul(rwu, up, rw, value=-1).to(f32)
        swv = torch.addcmul(rwv, vp, rw, value=-1).to(f32)
        return (n.to(f32), su.to(f32), sv.to(f32), suu.to(f32), suv.to(f32), svv.to(f32), rw.to(f32), swu, swv)


def solve_normals(
    m: Moments,
    fx: torch.Tensor,
    fy: torch.Tensor,
    ucol: torch.Tensor,
    vrow: torch.Tensor,
    depth_positive: torch.Tensor,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Unit normals (B, 3, H', W') from centred window moments; NaN where no valid pixel.

    Written into `out` (a (B, 3, H', W') float32 view) when given.

    fx, fy: (B, 1, 1); ucol: (B, 1, W') = u - cx and vrow: (B, H', 1) = v - cy of the centre
    pixels (pixel units, in the intrinsics' convention); depth_positive: (B, H', W') bool,
    depth > 0 at the centre pixel (even if masked out of the fit).

    Orientation as the reference: n_z >= 0, then n . P >= 0 (away from the camera). With the
    centred fit, n . P = Z_p * c (c = fitted 1/Z at the centre pixel), so the second rule
    is sign(c) wherever the centre pixel has depth and c != 0.
    """
    n0, su, sv, suu, suv, svv, sw, swu, swv = m
    # adjugate of A = [[suu, suv, su], [suv, svv, sv], [su, sv, n0]] (symmetric)
    adj00 = torch.addcmul(svv * n0, sv, sv, value=-1)
    adj01 = torch.addcmul(su * sv, suv, n0, value=-1)
    adj02 = torch.addcmul(suv * sv, su, svv, value=-1)
    adj11 = torch.addcmul(suu * n0, su, su, value=-1)
    adj12 = torch.addcmul(suv * su, suu, sv, value=-1)
    adj22 = torch.addcmul(suu * svv, suv, suv, value=-1)
    a = torch.addcmul(torch.addcmul(adj00 * swu, adj01, swv), adj02, sw)  # slope per pixel of du
    b = torch.addcmul(torch.addcmul(adj01 * swu, adj11, swv), adj12, sw)  # slope per pixel of dv
    c = torch.addcmul(torch.addcmul(adj02 * swu, adj12, swv), adj22, sw)  # 1/Z at the centre
    # back to a*x + b*y + c = 1/Z with x = (u - cx) / fx: (fx*a, fy*b, c - a*ucol - b*vrow)
    nz = torch.addcmul(torch.addcmul(c, a, ucol, value=-1), b, vrow, value=-1)
    nx = a * fx
    ny = b * fy
    norm2 = torch.addcmul(torch.addcmul(nx * nx, ny, ny), nz, nz)
    sign = torch.where(depth_positive & (c != 0), torch.sign(c), torch.where(nz < 0, -1.0, 1.0))
    scale = torch.where(n0 > 0, sign * torch.rsqrt(norm2), torch.nan)
    if out is None:
        out = torch.empty((nx.shape[0], 3, *nx.shape[1:]), dtype=nx.dtype, device=nx.device)
    for k, comp in enumerate((nx, ny, nz)):
        torch.mul(comp, scale, out=out[:, k])
    return out


CPU_BLOCK_PIXELS = 32768
"""On the CPU the fit runs in horizontal strips of about this many pixels, one sample at a
time: the nine float64 moment images of a strip then stay in cache (several times faster
than whole 480x640 frames on a 2-core machine). On a GPU the whole batch is one block."""


def fit_normals(
    valid: torch.Tensor,
    inv_z: torch.Tensor,
    depth_positive: torch.Tensor,
    fx: torch.Tensor,
    fy: torch.Tensor,
    ucol: torch.Tensor,
    vrow: torch.Tensor,
    radius: int,
    step: int = 1,
) -> torch.Tensor:
    """Normals (B, 3, H', W') of (2*radius+1)^2 windows at every step-th pixel.

    valid, inv_z: (B, H, W) as for `WindowMoments`; depth_positive: (B, H, W) depth > 0;
    fx, fy: (B, 1, 1) float32; ucol (B, 1, W'), vrow (B, H', 1): u - cx, v - cy of the
    output pixels. Results do not depend on the blocking (the mask moments are exact).
    """
    bsz, h, w = valid.shape
    ho, wo = -(-h // step), -(-w // step)
    positive = depth_positive[:, ::step, ::step]
    if valid.device.type != "cpu":
        m = WindowMoments(valid, inv_z).centred(radius, step)
        return solve_normals(m, fx, fy, ucol, vrow, positive)
    out = torch.empty(bsz, 3, ho, wo, dtype=torch.float32)
    rows = step * max(1, -(-CPU_BLOCK_PIXELS // (w * step)))  # a multiple of step
    halo = step * -(-radius // step)  # >= radius and a multiple of step, so outputs stay aligned
    for b in range(bsz):
        s = slice(b, b + 1)
        for a in range(0, h, rows):
            e = min(h, a + rows)
            lo, hi = max(0, a - halo), min(h, e + radius)
            count = -(-(e - a) // step)
            m = WindowMoments(valid[s, lo:hi], inv_z[s, lo:hi]).centred(radius, step, a - lo, count)
            oa = a // step
            rs = slice(oa, oa + count)
            solve_normals(m, fx[s], fy[s], ucol[s], vrow[s, rs], positive[s, rs], out=out[s, :, rs])
    return out
