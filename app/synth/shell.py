"""The empty room: its outline (a rectangle or an L), the walls, floor and ceiling with their
paints, tiles, planks or carpet, and the doors and windows set into the walls.

Kept apart from the furnishing recipes so that the geometry of a bare room can be built,
rendered and tested on its own (`rooms.shell_room`, calibration scenes). Every function draws
from the caller's generator in a fixed order; `rooms.generate_room` fixes that order.
"""

from __future__ import annotations

import math

import numpy as np

from app.synth.classes import C
from app.synth.geometry import Mesh
from app.synth.materials import hsv, light_solid, random_color, random_material, random_seed, wood_colors
from app.synth.parts import Part
from app.synth.placement import Layout
from app.synth.textures import SOLID, TILES, Material
from app.synth.wall_items import door, window


def _quad(a, b, c, d) -> Mesh:
    return Mesh(np.array([a, b, c, d], dtype=np.float64), np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32))


def shell_outline(rng: np.random.Generator, kind: str) -> tuple[str, np.ndarray, list]:
    """("rect" or "L", the counter-clockwise outline, the floor as disjoint rectangles)."""
    if kind == "bathroom":
        W, D = float(rng.uniform(1.8, 3.2)), float(rng.uniform(1.7, 2.8))
    elif kind == "classroom":
        W, D = float(rng.uniform(4.5, 7.0)), float(rng.uniform(4.0, 6.0))
    else:
        W, D = float(rng.uniform(2.8, 5.8)), float(rng.uniform(2.6, 5.0))
    if kind != "bathroom" and min(W, D) > 3.2 and rng.random() < 0.35:
        a, b = W * float(rng.uniform(0.3, 0.5)), D * float(rng.uniform(0.3, 0.5))
        poly = np.array([[0, 0], [W, 0], [W, D - b], [W - a, D - b], [W - a, D], [0, D]], dtype=np.float64)
        rects = [(0.0, 0.0, W, D - b), (0.0, D - b, W - a, D)]
        return "L", poly, rects
    poly = np.array([[0, 0], [W, 0], [W, D], [0, D]], dtype=np.float64)
    return "rect", poly, [(0.0, 0.0, W, D)]


def _square_tiles(
    rng: np.random.Generator,
    light: tuple[float, float],
    grout: tuple[float, float],
    scale: tuple[float, float],
    noise: float,
    name: str,
    seed: int | None = None,
) -> Material:
    """Square tiles with grey grout (bathroom and kitchen walls and floors); the ranges are
    (lo, hi) of the tile lightness, the grout grey and the tiles per metre. With no `seed`
    the texture seed is drawn last, after the colours and the scale."""
    c1 = random_color(rng, light=float(rng.uniform(*light)))
    grout_color = hsv(0, 0, float(rng.uniform(*grout)))
    tiles_per_m = float(rng.uniform(*scale))
    seed = random_seed(rng) if seed is None else seed
    return Material(TILES, c1, grout_color, scale=tiles_per_m, aspect=1.0, noise=noise, seed=seed, name=name)


def _wall_material(rng: np.random.Generator, kind: str) -> Material:
    r = rng.random()
    if kind in ("bathroom", "kitchen") and r < 0.45:
        return _square_tiles(rng, (0.55, 0.95), (0.4, 0.9), (3, 8), 0.03, "wall-tiles")
    if r < 0.7:
        c = hsv(rng.random(), float(rng.uniform(0.0, 0.35)), float(rng.uniform(0.55, 0.95)))
        scale, noise = float(rng.uniform(0.5, 4)), float(rng.uniform(0.02, 0.08))
        return Material(SOLID, c, c, scale=scale, noise=noise, seed=random_seed(rng), name="paint")
    return random_material(rng, ("stripes", "solid", "tiles", "fabric", "checker", "wood"))


def _floor_material(rng: np.random.Generator, kind: str) -> Material:
    r = rng.random()
    seed = random_seed(rng)
    if kind == "bathroom" or (kind == "kitchen" and r < 0.6):
        return _square_tiles(rng, (0.3, 0.9), (0.2, 0.8), (2.5, 6), 0.04, "floor-tiles", seed=seed)
    if r < 0.4:  # planks
        c1, c2 = wood_colors(rng)
        per_m, length = float(rng.uniform(5, 9)), float(rng.uniform(5, 10))  # planks per metre; length in widths
        angle = float(rng.choice([0, math.pi / 2]))
        return Material(TILES, c1, c2, scale=per_m, aspect=length, angle=angle, noise=0.08, seed=seed, name="planks")
    if r < 0.6:
        return random_material(rng, ("fabric",), name="carpet")
    if r < 0.8:
        return random_material(rng, ("tiles", "checker", "wood"))
    c = hsv(rng.random(), float(rng.uniform(0.0, 0.3)), float(rng.uniform(0.2, 0.7)))
    scale, noise = float(rng.uniform(1, 6)), float(rng.uniform(0.05, 0.2))
    return Material(SOLID, c, c, scale=scale, noise=noise, seed=seed, name="concrete")


def shell_parts(rng: np.random.Generator, kind: str, poly: np.ndarray, rects: list, height: float) -> list[Part]:
    """Walls (one may get an accent material), floor and ceiling as labelled quads."""
    wall_mat = _wall_material(rng, kind)
    accent = _wall_material(rng, kind) if rng.random() < 0.25 else None
    accent_wall = int(rng.integers(len(poly)))
    parts = []
    for i in range(len(poly)):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % len(poly)]
        q = _quad((x0, y0, 0.0), (x1, y1, 0.0), (x1, y1, height), (x0, y0, height))
        parts.append(Part(q, C.WALL, (accent if accent is not None and i == accent_wall else wall_mat,)))
    floor_mat = _floor_material(rng, kind)
    ceil_mat = light_solid(rng, 0.7, 0.97)
    for x0, y0, x1, y1 in rects:
        parts.append(Part(_quad((x0, y0, 0.0), (x1, y0, 0.0), (x1, y1, 0.0), (x0, y1, 0.0)), C.FLOOR, (floor_mat,)))
        parts.append(
            Part(_quad((x0, y0, height), (x1, y0, height), (x1, y1, height), (x0, y1, height)), C.CEILING, (ceil_mat,))
        )
    return parts


def place_openings(layout: Layout, rng: np.random.Generator, kind: str, height: float) -> None:
    """One or two doors, then up to three windows (bathrooms: one door, at most one window).

    Placed before any furniture, so that furniture keeps clear of the door swing areas."""
    for _ in range(1 + int(rng.random() < (0.15 if kind != "bathroom" else 0.0))):
        layout.against_wall(door(rng, height), tries=30)
    n_win = int(rng.integers(0, 2)) if kind == "bathroom" else int(rng.choice([0, 1, 1, 2, 2, 3]))
    for _ in range(n_win):
        layout.against_wall(window(rng, height), tries=20)
