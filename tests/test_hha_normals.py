"""The window-sum machinery behind the normals: exact, border-truncated, any stride."""

from __future__ import annotations

import itertools

import torch

import hha.normals
from hha.normals import WindowMoments, _column_window_sums, _window_sums_1d, fit_normals


def test_one_dimensional_window_sums_match_direct_sums():
    for n, r, s in itertools.product([1, 2, 5, 7, 8, 21, 22, 40], [0, 1, 3, 10], [1, 2, 3]):
        x = torch.randint(0, 5, (2, n, 3)).double()
        got = _window_sums_1d(x.cumsum(1), r, 1, s)
        want = torch.stack([x[:, max(0, p - r) : p + r + 1].sum(1) for p in range(0, n, s)], 1)
        assert torch.equal(got, want), (n, r, s)


def test_column_window_sums_match_direct_sums():
    for rows, r, step, start in itertools.product([1, 4, 9, 30], [0, 1, 3, 10], [1, 2, 3], [0, 1, 5]):
        if start >= rows:
            continue
        count = -(-(rows - start) // step)
        x = torch.randint(0, 9, (2, 3, rows, 5)).double()
        got = _column_window_sums(x, r, start, count, step)
        pos = range(start, rows, step)
        want = torch.stack([x[..., max(0, p - r) : p + r + 1, :].sum(-2) for p in pos], -2)
        assert torch.equal(got, want), (rows, r, step, start)


def test_blocked_cpu_fit_equals_one_block(monkeypatch):
    gen = torch.Generator().manual_seed(1)
    h, w = 70, 50
    z = torch.rand(2, h, w, generator=gen) * 300 + 100
    valid = torch.rand(2, h, w, generator=gen) > 0.2
    inv_z = torch.where(valid, 1.0 / z, 0.0)
    fx = torch.tensor([60.0, 70.0]).reshape(2, 1, 1)
    for radius, step in [(3, 1), (10, 2), (10, 3)]:
        ucol = (torch.arange(0, w, step, dtype=torch.float32) - 24.5).expand(2, 1, -1)
        vrow = (torch.arange(0, h, step, dtype=torch.float32)[:, None] - 34.5).expand(2, -1, 1)
        args = (valid, inv_z, z > 0, fx, fx, ucol, vrow, radius, step)
        monkeypatch.setattr(hha.normals, "CPU_BLOCK_PIXELS", 10**9)
        whole = fit_normals(*args)
        monkeypatch.setattr(hha.normals, "CPU_BLOCK_PIXELS", 7 * w)  # strips of ~7 rows: halos matter
        blocked = fit_normals(*args)
        assert whole.shape == (2, 3, -(-h // step), -(-w // step))
        assert torch.equal(whole.isnan(), blocked.isnan())
        torch.testing.assert_close(whole.nan_to_num(), blocked.nan_to_num(), atol=1e-5, rtol=0)


def test_centred_moments_are_exact_and_truncated_at_the_border():
    gen = torch.Generator().manual_seed(0)
    h, w, r = 23, 31, 3
    valid = torch.rand(1, h, w, generator=gen) > 0.3
    valid[0, 5:15, 10:20] = False  # windows with no valid pixel at all
    inv_z = torch.where(valid, torch.rand(1, h, w, generator=gen) + 0.1, 0.0)
    got = WindowMoments(valid, inv_z).centred(r)
    # direct sums over each window, in float64
    vm, iz = valid[0].double(), inv_z[0].double()
    want = torch.zeros(9, h, w, dtype=torch.float64)
    for i, j in itertools.product(range(h), range(w)):
        rs, cs = slice(max(0, i - r), i + r + 1), slice(max(0, j - r), j + r + 1)
        dv = (torch.arange(h, dtype=torch.float64)[rs] - i)[:, None]
        du = (torch.arange(w, dtype=torch.float64)[cs] - j)[None, :]
        m, z = vm[rs, cs], iz[rs, cs]
        terms = (m, m * du, m * dv, m * du * du, m * du * dv, m * dv * dv, z, z * du, z * dv)
        want[:, i, j] = torch.stack([t.expand(m.shape).sum() for t in terms])
    for k in range(6):  # the mask moments are integers: exact
        assert torch.equal(got[k][0].double(), want[k]), k
    for k in range(6, 9):
        torch.testing.assert_close(got[k][0].double(), want[k], rtol=1e-5, atol=1e-5)
    assert (got[0][0, 8:12, 13:17] == 0).all()  # empty windows count exactly zero
    strided = WindowMoments(valid, inv_z).centred(r, 2)
    for k in range(9):
        assert torch.equal(strided[k], got[k][:, ::2, ::2]), k
