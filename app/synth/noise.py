"""Hash-based 2D value noise for the procedural textures.

Integer hashing on a lattice (no permutation table, no global state) keeps the noise a pure
function of (x, y, seed), vectorised over any number of points, so renders are
byte-reproducible whatever order pixels are shaded in.
"""

from __future__ import annotations

import numpy as np

_K1, _K2, _K3, _K4 = np.uint32(0x8DA6B343), np.uint32(0xD8163841), np.uint32(0xCB1AB31F), np.uint32(0x5BD1E995)


def _lattice(f: np.ndarray) -> np.ndarray:
    """Integer-valued floats -> uint32 lattice ids (two's complement for negatives)."""
    return f.astype(np.int32).view(np.uint32)


def _mix(h: np.ndarray) -> np.ndarray:
    """Avalanche a uint32 hash in place -> float32 in [0, 1)."""
    h ^= h >> np.uint32(13)
    h *= _K4
    h ^= h >> np.uint32(15)
    return (h >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / (1 << 24))


def _seed_hash(seed: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return seed.astype(np.uint32) * _K3


def hash01(ix: np.ndarray, iy: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """Deterministic hash of integer lattice points (int arrays) -> float32 in [0, 1)."""
    with np.errstate(over="ignore"):
        h = ix.astype(np.int32).view(np.uint32) * _K1
        h ^= iy.astype(np.int32).view(np.uint32) * _K2
        h ^= _seed_hash(seed)
        return _mix(h)


def value_noise(x: np.ndarray, y: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """Smooth 2D value noise in [-1, 1] (float32 in, float32 out)."""
    fx, fy = np.floor(x), np.floor(y)
    tx, ty = (x - fx).astype(np.float32, copy=False), (y - fy).astype(np.float32, copy=False)
    tx = tx * tx * (3 - 2 * tx)
    ty = ty * ty * (3 - 2 * ty)
    with np.errstate(over="ignore"):
        sh = _seed_hash(seed)
        hx0 = _lattice(fx) * _K1
        hx1 = hx0 + _K1  # (ix + 1) * K1
        ky = _lattice(fy) * _K2
        hy0 = ky ^ sh
        hy1 = (ky + _K2) ^ sh
        a = _mix(hx0 ^ hy0)
        b = _mix(hx1 ^ hy0)
        c = _mix(hx0 ^ hy1)
        d = _mix(hx1 ^ hy1)
    top = a + (b - a) * tx
    bot = c + (d - c) * tx
    return (top + (bot - top) * ty) * 2 - 1


def fbm(x: np.ndarray, y: np.ndarray, seed: np.ndarray, octaves: int = 3) -> np.ndarray:
    """Fractal sum of value noise, roughly in [-1, 1]."""
    total = np.zeros(np.shape(x), np.float32)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        total += np.float32(amp) * value_noise(x * (2.0**o), y * (2.0**o), seed + 101 * o)
        norm += amp
        amp *= 0.5
    return total / np.float32(norm)
