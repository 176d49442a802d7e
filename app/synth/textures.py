"""Procedural surface textures: wood grain, fabric noise, stripes, checker, tiles, noisy solids.

Materials are drawn per object from one shared pool, so that a colour or a pattern alone
never tells the class (a chair may be striped, a wall wooden). Textures are evaluated per
pixel from planar coordinates of the hit point (metres), so they need no UV unwrapping.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field

import numpy as np

SOLID, WOOD, FABRIC, STRIPES, CHECKER, TILES = range(6)
PATTERN_NAMES = ("solid", "wood", "fabric", "stripes", "checker", "tiles")


@dataclass(frozen=True)
class Material:
    """How a surface looks. Colours are linear RGB in 0..1.

    scale: pattern frequency (cycles per metre); aspect: stretch along the pattern direction
    (planks, long tiles); angle: pattern direction in the surface plane; noise: strength of
    the low-frequency mottling; emission: 0..1 self-lit share (window glass, lamp shades,
    screens that are on); mirror: 0..1 reflectivity; depth_dropout: 0..1 share of the
    surface where a stereo depth camera returns no depth (glass, mirrors, black screens).
    """

    pattern: int
    color1: tuple[float, float, float]
    color2: tuple[float, float, float]
    scale: float = 4.0
    aspect: float = 1.0
    angle: float = 0.0
    noise: float = 0.1
    seed: int = 0
    emission: float = 0.0
    mirror: float = 0.0
    depth_dropout: float = 0.0
    name: str = field(default="", compare=False)


# ------------------------------------------------------------------------------ noise


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


def _hash01(ix: np.ndarray, iy: np.ndarray, seed: np.ndarray) -> np.ndarray:
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


# ------------------------------------------------------------------------------ evaluation


def material_table(materials: list[Material]) -> dict[str, np.ndarray]:
    """Column arrays of material parameters, indexed by material id (what the renderer gathers)."""
    m = materials
    return {
        "pattern": np.array([x.pattern for x in m], np.int32),
        "color1": np.array([x.color1 for x in m], np.float32).reshape(-1, 3),
        "color2": np.array([x.color2 for x in m], np.float32).reshape(-1, 3),
        "scale": np.array([x.scale for x in m], np.float32),
        "aspect": np.array([x.aspect for x in m], np.float32),
        "angle": np.array([x.angle for x in m], np.float32),
        "noise": np.array([x.noise for x in m], np.float32),
        "seed": np.array([x.seed for x in m], np.int64),
        "emission": np.array([x.emission for x in m], np.float32),
        "mirror": np.array([x.mirror for x in m], np.float32),
        "depth_dropout": np.array([x.depth_dropout for x in m], np.float32),
    }


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def albedo(table: dict[str, np.ndarray], mat: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Linear RGB albedo (n, 3) for n surface points with material ids `mat` and planar coords (u, v) in metres."""
    out = np.empty((len(mat), 3), np.float32)
    pattern = table["pattern"][mat]
    for kind in np.unique(pattern):
        sel = np.nonzero(pattern == kind)[0]
        mi = mat[sel]
        ang = table["angle"][mi]
        ca, sa = np.cos(ang), np.sin(ang)
        s = (ca * u[sel] + sa * v[sel]).astype(np.float32)
        t = (-sa * u[sel] + ca * v[sel]).astype(np.float32)
        seed = table["seed"][mi]
        k = table["scale"][mi]
        asp = table["aspect"][mi]
        nz = table["noise"][mi]
        c1, c2 = table["color1"][mi], table["color2"][mi]
        out[sel] = _pattern(int(kind), s, t, seed, k, asp, nz, c1, c2)
    return out


def _pattern(kind, s, t, seed, k, asp, nz, c1, c2) -> np.ndarray:
    mottle = fbm(s * 3.0, t * 3.0, seed, octaves=2)
    if kind == SOLID:
        g = fbm(s * k, t * k, seed + 7, octaves=3)
        return c1 * (1 + nz * g)[:, None] + (c2 - c1) * (0.15 * nz * mottle)[:, None]
    if kind == WOOD:
        # rings across t, distorted along s; fine grain streaks along s
        w = t * k + 1.2 * fbm(s * 1.5, t * 3.0, seed + 3, octaves=2)
        ring = (w - np.floor(w)) ** 2
        streak = fbm(s * 8.0, t * 160.0, seed + 5, octaves=2)
        col = c1 + (c2 - c1) * ring[:, None]
        return col * (1 + 0.12 * streak + nz * 0.5 * mottle)[:, None]
    if kind == FABRIC:
        fine = fbm(s * 220.0, t * 220.0, seed + 11, octaves=1)
        blend = np.clip(0.5 + 0.6 * fbm(s * k, t * k, seed + 13, octaves=3), 0, 1)
        col = c1 + (c2 - c1) * (blend * 0.35)[:, None]
        return col * (1 + 0.12 * fine + nz * mottle)[:, None]
    if kind == STRIPES:
        g = _smoothstep(-0.15, 0.15, np.sin(2 * math.pi * s * k) + 0.3 * np.sin(2 * math.pi * s * k * 3))
        col = c1 + (c2 - c1) * g[:, None]
        return col * (1 + nz * mottle)[:, None]
    if kind == CHECKER:
        g = (np.floor(s * k) + np.floor(t * k)) % 2
        col = c1 + (c2 - c1) * g[:, None].astype(np.float32)
        return col * (1 + nz * mottle)[:, None]
    if kind == TILES:
        ks, kt = k / asp, k
        fs, ft = s * ks, t * kt
        gt = ft - np.floor(ft)
        # per tile brightness variation; every row shifted at random (planks, bricks)
        shift = _hash01(np.floor(ft).astype(np.int64), np.zeros(len(ft), np.int64), seed + 17)
        cell = _hash01(np.floor(fs + shift).astype(np.int64), np.floor(ft).astype(np.int64), seed + 19)
        gs2 = (fs + shift) - np.floor(fs + shift)
        grout = (gs2 < 0.03) | (gt < 0.045)
        col = c1 * (0.88 + 0.24 * cell)[:, None] * (1 + nz * mottle)[:, None]
        return np.where(grout[:, None], c2, col)
    raise ValueError(f"unknown texture pattern {kind}")


# ------------------------------------------------------------------------------ random materials


def srgb_to_linear(c) -> tuple[float, float, float]:
    c = np.clip(np.asarray(c, np.float64), 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return (float(lin[0]), float(lin[1]), float(lin[2]))


def hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    return srgb_to_linear(colorsys.hsv_to_rgb(h % 1.0, s, v))


def random_color(rng: np.random.Generator, light: float | None = None) -> tuple[float, float, float]:
    """Any colour, mostly desaturated like real interiors; `light` pins the value (0..1)."""
    h = rng.random()
    s = float(rng.choice([rng.uniform(0.0, 0.15), rng.uniform(0.1, 0.5), rng.uniform(0.4, 0.9)], p=[0.4, 0.4, 0.2]))
    v = light if light is not None else float(rng.uniform(0.12, 0.95))
    return hsv(h, s, v)


def wood_colors(rng: np.random.Generator) -> tuple[tuple, tuple]:
    h = rng.uniform(0.03, 0.11)
    v = rng.uniform(0.25, 0.85)
    s = rng.uniform(0.35, 0.75)
    return hsv(h, s, v), hsv(h + rng.uniform(-0.015, 0.015), min(1.0, s * 1.15), v * rng.uniform(0.55, 0.8))


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def random_material(rng: np.random.Generator, kinds: tuple[str, ...] | None = None, name: str = "") -> Material:
    """A random material from the shared pool (optionally restricted to some pattern kinds)."""
    kinds = kinds or ("solid", "solid", "wood", "wood", "fabric", "stripes", "checker", "tiles")
    kind = str(rng.choice(kinds))
    angle = float(rng.choice([0.0, math.pi / 2])) + float(rng.normal(0, 0.05))
    if kind == "wood":
        c1, c2 = wood_colors(rng) if rng.random() < 0.8 else (random_color(rng), random_color(rng))
        return Material(
            WOOD,
            c1,
            c2,
            scale=float(rng.uniform(6, 22)),
            angle=angle,
            noise=float(rng.uniform(0.02, 0.12)),
            seed=_seed(rng),
            name=name or "wood",
        )
    if kind == "fabric":
        c1 = random_color(rng)
        c2 = random_color(rng, light=float(rng.uniform(0.1, 0.9)))
        return Material(
            FABRIC,
            c1,
            c2,
            scale=float(rng.uniform(2, 12)),
            angle=angle,
            noise=float(rng.uniform(0.05, 0.2)),
            seed=_seed(rng),
            name=name or "fabric",
        )
    if kind == "stripes":
        c1 = random_color(rng)
        c2 = random_color(rng)
        return Material(
            STRIPES,
            c1,
            c2,
            scale=float(rng.uniform(2, 14)),
            angle=angle,
            noise=float(rng.uniform(0.02, 0.1)),
            seed=_seed(rng),
            name=name or "stripes",
        )
    if kind == "checker":
        c1 = random_color(rng)
        c2 = random_color(rng)
        return Material(
            CHECKER,
            c1,
            c2,
            scale=float(rng.uniform(2, 10)),
            angle=angle,
            noise=float(rng.uniform(0.02, 0.1)),
            seed=_seed(rng),
            name=name or "checker",
        )
    if kind == "tiles":
        c1 = random_color(rng)
        c2 = random_color(rng, light=float(rng.uniform(0.2, 0.9)))
        return Material(
            TILES,
            c1,
            c2,
            scale=float(rng.uniform(2.5, 8)),
            aspect=float(rng.choice([1.0, 1.0, 3.0, 6.0])),
            angle=angle,
            noise=float(rng.uniform(0.02, 0.1)),
            seed=_seed(rng),
            name=name or "tiles",
        )
    c1 = random_color(rng)
    return Material(
        SOLID,
        c1,
        random_color(rng),
        scale=float(rng.uniform(1, 10)),
        angle=angle,
        noise=float(rng.uniform(0.02, 0.15)),
        seed=_seed(rng),
        name=name or "solid",
    )


def solid(color, noise: float = 0.05, seed: int = 0, **kw) -> Material:
    return Material(SOLID, tuple(color), tuple(color), scale=4.0, noise=noise, seed=seed, **kw)


# ------------------------------------------------------------------------------ special-purpose materials


def metal(rng: np.random.Generator) -> Material:
    """Legs, frames, handles: grey to black, sometimes brass or white."""
    c = random_color(rng, light=float(rng.uniform(0.1, 0.8)))
    if rng.random() < 0.6:
        v = float(rng.uniform(0.08, 0.75))
        c = hsv(0.0, 0.0, v)
    return Material(SOLID, c, c, scale=20.0, noise=0.04, seed=_seed(rng), name="metal")


def light_solid(rng: np.random.Generator, lo: float = 0.7, hi: float = 0.95) -> Material:
    """Whitish painted surfaces (ceilings, fridges, whiteboards, porcelain)."""
    c = hsv(rng.random(), float(rng.uniform(0.0, 0.08)), float(rng.uniform(lo, hi)))
    return Material(
        SOLID, c, c, scale=float(rng.uniform(1, 6)), noise=float(rng.uniform(0.02, 0.06)), seed=_seed(rng), name="light"
    )


def cardboard(rng: np.random.Generator) -> Material:
    if rng.random() < 0.6:
        c = hsv(rng.uniform(0.07, 0.11), rng.uniform(0.35, 0.6), rng.uniform(0.45, 0.75))
        return Material(SOLID, c, c, scale=6.0, noise=0.08, seed=_seed(rng), name="cardboard")
    return random_material(rng)


def sky(rng: np.random.Generator) -> Material:
    """Window glass: bright daylight or a dim evening outside; stereo depth fails on it."""
    if rng.random() < 0.8:
        c1 = hsv(rng.uniform(0.53, 0.62), rng.uniform(0.05, 0.4), rng.uniform(0.75, 1.0))
        c2 = hsv(rng.uniform(0.2, 0.4), rng.uniform(0.2, 0.5), rng.uniform(0.4, 0.8))
        emission = float(rng.uniform(0.7, 1.0))
    else:
        c1 = hsv(rng.uniform(0.55, 0.7), rng.uniform(0.3, 0.6), rng.uniform(0.1, 0.3))
        c2 = hsv(rng.uniform(0.1, 0.15), rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.6))
        emission = float(rng.uniform(0.3, 0.6))
    return Material(
        SOLID,
        c1,
        c2,
        scale=float(rng.uniform(1, 3)),
        noise=float(rng.uniform(0.05, 0.3)),
        seed=_seed(rng),
        emission=emission,
        depth_dropout=float(rng.uniform(0.5, 0.95)),
        name="glass",
    )


def screen(rng: np.random.Generator) -> Material:
    """A TV or monitor screen: mostly off (black, glossy), sometimes showing a picture."""
    if rng.random() < 0.7:
        c = hsv(rng.uniform(0.5, 0.7), rng.uniform(0.0, 0.3), rng.uniform(0.02, 0.08))
        return Material(
            SOLID,
            c,
            c,
            scale=3.0,
            noise=0.1,
            seed=_seed(rng),
            mirror=0.12,
            depth_dropout=float(rng.uniform(0.0, 0.6)),
            name="screen-off",
        )
    m = random_material(rng, ("stripes", "checker", "solid", "fabric"))
    return Material(
        m.pattern,
        m.color1,
        m.color2,
        scale=m.scale * 2,
        angle=m.angle,
        noise=0.3,
        seed=m.seed,
        emission=0.9,
        name="screen-on",
    )


def mirror_glass(rng: np.random.Generator) -> Material:
    c = hsv(rng.uniform(0.45, 0.6), rng.uniform(0.0, 0.1), rng.uniform(0.6, 0.85))
    return Material(
        SOLID,
        c,
        c,
        scale=2.0,
        noise=0.02,
        seed=_seed(rng),
        mirror=float(rng.uniform(0.75, 0.92)),
        depth_dropout=float(rng.uniform(0.2, 0.8)),
        name="mirror",
    )


def artwork(rng: np.random.Generator) -> Material:
    """Picture canvases: saturated patterns or soft blotches."""
    kind = str(rng.choice(["stripes", "checker", "fabric", "solid", "tiles"]))
    m = random_material(rng, (kind,))
    c1 = hsv(rng.random(), rng.uniform(0.3, 1.0), rng.uniform(0.2, 1.0))
    c2 = hsv(rng.random(), rng.uniform(0.3, 1.0), rng.uniform(0.2, 1.0))
    return Material(
        m.pattern,
        c1,
        c2,
        scale=m.scale * float(rng.uniform(1.5, 5)),
        aspect=m.aspect,
        angle=float(rng.uniform(0, 3.2)),
        noise=float(rng.uniform(0.2, 0.6)),
        seed=m.seed,
        name="art",
    )


def lampshade(rng: np.random.Generator) -> Material:
    m = random_material(rng, ("fabric", "solid", "stripes"))
    lit = rng.random() < 0.5
    return Material(
        m.pattern,
        m.color1,
        m.color2,
        scale=m.scale,
        angle=m.angle,
        noise=m.noise,
        seed=m.seed,
        emission=float(rng.uniform(0.3, 0.6)) if lit else 0.0,
        name="shade",
    )
