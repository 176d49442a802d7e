"""The fast HHA against a literal float64 numpy port of the published algorithm.

The port below follows the algorithm as written (absolute, un-centred normal equations,
direct zero-padded window sums, adjugate solve, orientation by n . P, gravity by
eigenvectors), with none of the speed tricks of `hha` (integral images, centring, float32,
subsampled gravity). Where the 7x7 fit is ill-posed (valid pixels all on one image line)
the result is floating-point noise in any implementation, so those pixels are excluded.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hha

CAM = (70.0, 72.0, 39.5, 29.5)
H, W = 60, 80


def window_sums(a: np.ndarray, r: int) -> np.ndarray:
    h, w = a.shape
    p = np.pad(a, r)
    out = np.zeros_like(a)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            out += p[dy : dy + h, dx : dx + w]
    return out


def port_normals(z, fit, fx, fy, cx, cy, r):
    h, w = z.shape
    u, v = np.meshgrid(np.arange(w, dtype=float), np.arange(h, dtype=float))
    x, y = (u - cx) / fx, (v - cy) / fy
    k = fit.astype(float)
    iz = np.where(fit, 1.0 / np.where(fit, z, 1.0), 0.0)
    a0, a1, a2 = (window_sums(t * k, r) for t in (x * x, x * y, x))
    a3, a4, a5 = (window_sums(t * k, r) for t in (y * y, y, np.ones_like(x)))
    b0, b1, b2 = (window_sums(t * iz, r) for t in (x, y, np.ones_like(x)))
    adj = [
        [a3 * a5 - a4**2, a2 * a4 - a1 * a5, a1 * a4 - a2 * a3],
        [a2 * a4 - a1 * a5, a0 * a5 - a2**2, a1 * a2 - a0 * a4],
        [a1 * a4 - a2 * a3, a1 * a2 - a0 * a4, a0 * a3 - a1**2],
    ]
    n = np.stack([adj[i][0] * b0 + adj[i][1] * b1 + adj[i][2] * b2 for i in range(3)])
    with np.errstate(invalid="ignore", divide="ignore"):
        n = n / np.linalg.norm(n, axis=0)
    n = np.where(n[2] < 0, -n, n)
    facing = (n * np.stack([x * z, y * z, z])).sum(0)
    return np.where(facing < 0, -n, n)


def port_gravity(n):
    n = n.reshape(3, -1)
    n = n[:, np.isfinite(n).all(0)]
    g = np.array([0.0, 1.0, 0.0])
    for deg in [45.0] * 5 + [15.0] * 5:
        s = np.abs(g @ n)
        walls, floors = n[:, s < math.sin(math.radians(deg))], n[:, s > math.cos(math.radians(deg))]
        _, vecs = np.linalg.eigh(walls @ walls.T - floors @ floors.T)
        d = g @ vecs[:, 0]
        if d != 0:
            g = vecs[:, 0] * np.sign(d)
    return g


def port_hha(depth_m, fx, fy, cx, cy, missing=None):
    z = depth_m.astype(float) * 100
    fit = (z > 0) if missing is None else (z > 0) & ~missing
    g = port_gravity(port_normals(z, fit, fx, fy, cx, cy, 10))
    n7 = port_normals(z, fit, fx, fy, cx, cy, 3)
    h, w = z.shape
    u, v = np.meshgrid(np.arange(w, dtype=float), np.arange(h, dtype=float))
    p = np.stack([(u - cx) / fx * z, (v - cy) / fy * z, z])
    up = -np.einsum("i,ihw->hw", g, p) if math.degrees(math.acos(min(1.0, g[1]))) > 0.1 else -p[1]
    floor = up.min()
    floor = -130.0 if floor > -90 else floor
    ang = np.degrees(np.arccos(np.clip(np.einsum("i,ihw->hw", g, n7), -1, 1)))
    ang = np.where(np.isnan(ang), 180.0, ang)
    out = np.stack([31000 / np.maximum(z, 100), up - floor, ang + 38])
    return np.minimum(np.rint(out), 255).astype(np.uint8), g


def ill_posed(fit: np.ndarray, r: int = 3) -> np.ndarray:
    """Windows whose valid pixels are collinear in the image (rank-deficient fit), incl. 1 pixel."""
    k = fit.astype(np.int64)
    h, w = fit.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.int64), np.arange(h, dtype=np.int64))
    n, su, sv = (window_sums(t * k, r) for t in (np.ones_like(u), u, v))
    suu, svv, suv = (window_sums(t * k, r) for t in (u * u, v * v, u * v))
    cuu, cvv, cuv = n * suu - su * su, n * svv - sv * sv, n * suv - su * sv
    return (n > 0) & (cuu * cvv - cuv * cuv == 0)


def room(seed: int) -> np.ndarray:
    """A tilted camera in a corner: floor, two walls and a box, with holes and dropouts."""
    rng = np.random.default_rng(seed)
    fx, fy, cx, cy = CAM
    u, v = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
    r = np.stack(((u - cx) / fx, (v - cy) / fy, np.ones_like(u)), -1)
    pitch, roll, yaw = np.radians(rng.uniform(5, 30)), np.radians(rng.uniform(-10, 10)), np.radians(30)
    rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    rz = np.array([[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]])
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    rot = rz @ rx @ ry  # world (y down) -> camera
    planes = [((0, 1, 0), rng.uniform(1.0, 1.6)), ((0, 0, 1), 3.0), ((1, 0, 0), 2.5), ((0, 0, 1), 2.0)]
    depth = np.full((H, W), np.inf)
    for i, (nw, d) in enumerate(planes):
        nc = rot @ np.asarray(nw, float)
        den = r @ nc
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(den > 1e-9, d / den, np.inf)
        if i == 3:  # the box face: only a patch of the plane
            pts = t[..., None] * r @ rot
            t = np.where((np.abs(pts[..., 0]) < 0.4) & (pts[..., 1] > 0.2), t, np.inf)
        depth = np.minimum(depth, t)
    depth[~np.isfinite(depth)] = 0
    depth[10:22, 50:65] = 0
    depth[rng.random(depth.shape) < 0.03] = 0
    return np.round(depth * 1000) / 1000  # millimetre steps like a sensor


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_literal_port_on_well_posed_pixels(seed):
    depth = room(seed)
    ref, g_ref = port_hha(depth, *CAM)
    res = hha.depth_to_hha_full(torch.from_numpy(depth.astype(np.float32)), CAM, gravity_stride=1)
    out = res.hha.numpy().astype(int)
    g = res.gravity.numpy()
    assert math.degrees(math.acos(min(1.0, float(g @ g_ref)))) < 0.05
    diff = np.abs(out - ref.astype(int))
    ok = ~ill_posed(depth > 0)
    assert (diff[0] == 0).all()
    assert (diff[1] <= 1).all()
    assert (diff[2][ok] <= 1).all()
    assert (diff[2] <= 2).mean() > 0.97


def test_raw_mask_mode_matches_literal_port():
    depth = room(2)
    missing = np.zeros_like(depth, dtype=bool)
    missing[30:45, 10:30] = True  # raw sensor holes under filled depth
    ref, _ = port_hha(depth, *CAM, missing=missing)
    out = hha.depth_to_hha(torch.from_numpy(depth.astype(np.float32)), CAM, torch.from_numpy(missing), gravity_stride=1)
    diff = np.abs(out.numpy().astype(int) - ref.astype(int))
    ok = ~ill_posed((depth > 0) & ~missing)
    assert (diff[:2] <= 1).all()
    assert (diff[2][ok] <= 1).all()
