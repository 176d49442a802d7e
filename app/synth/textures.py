"""Surface textures: the `Material` record and its per-pixel evaluation (what the renderer calls).

Textures are evaluated per pixel from planar coordinates of the hit point (metres), so they
need no UV unwrapping. The patterns are built on `app.synth.noise`; which materials objects
get is chosen in `app.synth.materials`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from app.synth.noise import fbm, hash01

SOLID, WOOD, FABRIC, STRIPES, CHECKER, TILES, WRITING, MARKER = range(8)
PATTERN_NAMES = ("solid", "wood", "fabric", "stripes", "checker", "tiles", "writing", "marker")


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
        shift = hash01(np.floor(ft).astype(np.int64), np.zeros(len(ft), np.int64), seed + 17)
        cell = hash01(np.floor(fs + shift).astype(np.int64), np.floor(ft).astype(np.int64), seed + 19)
        gs2 = (fs + shift) - np.floor(fs + shift)
        grout = (gs2 < 0.03) | (gt < 0.045)
        col = c1 * (0.88 + 0.24 * cell)[:, None] * (1 + nz * mottle)[:, None]
        return np.where(grout[:, None], c2, col)
    if kind == WRITING:
        # marker or print on a light ground (whiteboards, notices): thin contour lines of a noise
        # field (strokes), only where a coarser field says "written here", over faint erased ghosts
        stroke = np.abs(fbm(s * k, t * k * asp, seed + 23, octaves=2))
        written = fbm(s * k / 6, t * k / 6, seed + 29, octaves=2) > -0.15
        ink = (stroke < 0.04) & written
        ground = c1 * (1 + nz * mottle)[:, None]
        return np.where(ink[:, None], c2, ground)
    if kind == MARKER:
        return _marker(s, t, seed, k, nz, c1, c2, mottle)
    raise ValueError(f"unknown texture pattern {kind}")


def legible_writing(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The table with every `writing` material drawn as `marker` (lines of text, diagrams, erased
    ghosts). A render-time choice: the rooms and their random draws stay the same."""
    out = dict(table)
    out["pattern"] = np.where(table["pattern"] == WRITING, MARKER, table["pattern"])
    return out


def _marker(s, t, seed, k, nz, c1, c2, mottle) -> np.ndarray:
    """Writing as a camera sees it on a used whiteboard or a printed page: lines of text (rows of
    word blobs made of strokes, ragged right ends), here and there a diagram of larger loops,
    and faint ink-tinted smudges where something was wiped off.

    Sizes follow the material's scale k (cycles per metre): a line pitch of 0.6/k, i.e. 4-12 cm
    on a whiteboard (k 5-14) and 1-2.4 cm on paper (k 25-60). Strokes are a small share of the
    pitch wide, wide enough to survive the 2x2 supersampling as the grey lines real frames show."""
    pitch = 0.6 / k
    row_f = t / pitch
    row = np.floor(row_f).astype(np.int64)
    in_row = row_f - row
    zero = np.zeros(len(s), np.int64)
    # each row: written or blank, its own left indent and length (in pitches)
    row_used = hash01(row, zero, seed + 31) < 0.85
    start = hash01(row, zero, seed + 37) * 4.0
    length = 8.0 + hash01(row, zero, seed + 41) * 40.0
    along = s / pitch
    on_line = row_used & (in_row > 0.2) & (in_row < 0.8) & (along > start) & (along < start + length)
    # words: stretches of the line, gaps where a 1-D noise along the line dips
    words = fbm(along * 0.9, row.astype(np.float32) * 7.31, seed + 43, octaves=1) > -0.35
    glyph = np.abs(fbm(along * 3.2, in_row * 3.0 + row.astype(np.float32) * 5.0, seed + 47, octaves=2)) < 0.11
    text = on_line & words & glyph
    # diagrams: contour loops of a coarse field, only inside a few regions
    region = fbm(s * k / 8, t * k / 8, seed + 53, octaves=1)
    loops = np.abs(fbm(s * k / 2.5, t * k / 2.5, seed + 59, octaves=1)) < 0.02
    diagram = loops & (region > 0.35)
    # a page or board is written on in patches, not all over
    written = fbm(s * k / 10, t * k / 10, seed + 29, octaves=2) > -0.45
    ink = (text & written & (region <= 0.35)) | diagram
    ghost = np.clip(fbm(s * k / 4, t * k / 4, seed + 61, octaves=3), 0.0, 0.6) * 0.3
    ground = c1 * (1 + nz * mottle)[:, None]
    ground = ground + (c2 - ground) * ghost[:, None]
    return np.where(ink[:, None], c2, ground)
