"""Doors and glass as offices, classrooms and flats have them: windows that show a street, glass
partitions, and wooden doors with a narrow glass panel.

On NYUv2's real frames the model called 45 % of the window pixels wall and most wooden doors
furniture (docs/demo-model.md): the renders' windows were a soft glowing glass, while real
ones show a building across the street, trees or a white sky, many offices are divided by
framed glass walls (which NYUv2 labels window), and institutional doors are wood veneer with
a vision panel (NYUv2: door, which its 13-class protocol counts as wall).

`dress_openings(furnisher, rng)` runs after a room is furnished (and after its props and wall
clutter) and draws only from its own generator, so a room with glazing is the same room with
these windows and doors restyled and partitions added.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from app.synth.classes import C
from app.synth.furniture import U
from app.synth.geometry import Mesh, box, merge
from app.synth.materials import hsv, light_solid, metal, random_color, random_seed, wood_colors
from app.synth.parts import Builder, Item, Part
from app.synth.textures import CHECKER, FABRIC, SOLID, TILES, WOOD, Material
from app.synth.wall_items import _frame


class _Chances(NamedTuple):
    """Per room kind: how often a window shows an outdoor view, how many glass walls are tried on
    average, how often a door becomes veneer."""

    view: float
    glass_walls: float
    veneer_door: float


_OPENINGS = {
    "office": _Chances(view=0.8, glass_walls=0.9, veneer_door=0.8),
    "classroom": _Chances(view=0.8, glass_walls=0.7, veneer_door=0.8),
    "kitchen": _Chances(view=0.6, glass_walls=0.1, veneer_door=0.3),
    "living": _Chances(view=0.6, glass_walls=0.2, veneer_door=0.3),
    "bedroom": _Chances(view=0.6, glass_walls=0.0, veneer_door=0.3),
    "bathroom": _Chances(view=0.4, glass_walls=0.0, veneer_door=0.2),
}


def outdoor_view(rng: np.random.Generator) -> Material:
    """What a window shows by day: the glazed or punched facade across the street, trees, or a white sky.

    Self-lit like the glass it replaces (a window is brighter than the room), with the same
    depth failures; the pattern scale is the apparent size on the pane (cycles per metre)."""
    r = rng.random()
    emission = float(rng.uniform(0.55, 1.0))
    if r < 0.45:  # a building: window cells (dark or sky-reflecting glass) in a frame or stone grid
        pane = hsv(rng.uniform(0.5, 0.65), rng.uniform(0.05, 0.35), rng.uniform(0.15, 0.8))
        stone = hsv(rng.uniform(0.03, 0.12), rng.uniform(0.0, 0.35), rng.uniform(0.35, 0.9))
        pattern = TILES if rng.random() < 0.6 else CHECKER
        c1, c2 = (pane, stone) if pattern == TILES else (stone, pane)
        scale, aspect, noise = float(rng.uniform(2.0, 7.0)), float(rng.choice([1.0, 1.5, 2.5])), 0.15
    elif r < 0.7:  # foliage
        c1 = hsv(rng.uniform(0.2, 0.35), rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.6))
        c2 = hsv(rng.uniform(0.08, 0.4), rng.uniform(0.1, 0.6), rng.uniform(0.4, 0.95))
        pattern, scale, aspect, noise = FABRIC, float(rng.uniform(1.5, 6.0)), 1.0, 0.4
    else:  # overcast sky, near white: a camera's exposure clips it
        c1 = hsv(rng.uniform(0.5, 0.65), rng.uniform(0.0, 0.15), rng.uniform(0.85, 1.0))
        c2 = hsv(rng.uniform(0.5, 0.65), rng.uniform(0.0, 0.2), rng.uniform(0.7, 0.95))
        pattern, scale, aspect, noise = SOLID, float(rng.uniform(1, 3)), 1.0, 0.2
        emission = float(rng.uniform(0.85, 1.0))
    seed, dropout = random_seed(rng), float(rng.uniform(0.5, 0.95))
    return Material(pattern, c1, c2, scale=scale, aspect=aspect, noise=noise, seed=seed, emission=emission,
                    depth_dropout=dropout, name="outdoor-view")


def interior_glass(rng: np.random.Generator) -> Material:
    """A glass wall onto a corridor or the next office: dim, blurred shapes and a reflection."""
    c1 = random_color(rng, light=float(rng.uniform(0.15, 0.6)))
    c2 = random_color(rng, light=float(rng.uniform(0.1, 0.7)))
    scale, noise, seed = float(rng.uniform(0.8, 3.0)), float(rng.uniform(0.2, 0.5)), random_seed(rng)
    glow, reflect, dropout = float(rng.uniform(0.05, 0.35)), float(rng.uniform(0.1, 0.35)), float(rng.uniform(0.3, 0.8))
    return Material(FABRIC, c1, c2, scale=scale, noise=noise, seed=seed, emission=glow, mirror=reflect,
                    depth_dropout=dropout, name="interior-glass")


def wood_veneer(rng: np.random.Generator) -> Material:
    """A door's veneer: fine straight grain in oak, beech, cherry or walnut tones, running vertically."""
    c1, c2 = wood_colors(rng)
    return Material(
        WOOD,
        c1,
        c2,
        scale=float(rng.uniform(10, 28)),
        angle=float(np.pi / 2 + rng.normal(0, 0.03)),
        noise=float(rng.uniform(0.03, 0.1)),
        seed=random_seed(rng),
        mirror=float(rng.uniform(0.0, 0.08)),
        name="veneer",
    )


def _dark_glass(rng: np.random.Generator) -> Material:
    c = hsv(rng.uniform(0.5, 0.65), rng.uniform(0.0, 0.2), rng.uniform(0.08, 0.45))
    return Material(
        SOLID, c, c, scale=3.0, noise=0.1, seed=random_seed(rng), emission=float(rng.uniform(0.0, 0.3)),
        mirror=float(rng.uniform(0.1, 0.3)), depth_dropout=float(rng.uniform(0.2, 0.7)), name="vision-panel",
    )


def _mullions(width: float, panes: int, half: float, depth: float, z0: float, z1: float) -> list[Mesh]:
    """The vertical bars (half-width `half`) that split a glazing `width` wide into equal panes."""
    xs = (-width / 2 + width * k / panes for k in range(1, panes))
    return [box((x - half, 0.0, z0), (x + half, depth, z1)) for x in xs]


def glass_wall(rng: np.random.Generator, ceiling: float, width: float) -> Item:
    """A framed glass partition from the floor (or a low sill) to door height or the ceiling.

    Mullions every 0.8-1.4 m, sometimes a transom, and frosted bands at eye height (manifestation,
    which real partitions carry so that people see the glass); all labelled window, as NYUv2 does."""
    b = Builder()
    z0 = 0.0 if rng.random() < 0.7 else U(rng, 0.8, 1.0)
    z1 = ceiling - (0.0 if rng.random() < 0.5 else U(rng, 0.2, 0.5))
    frame_mat = metal(rng) if rng.random() < 0.7 else replace(wood_veneer(rng), angle=0.0)
    fw, fd = U(rng, 0.03, 0.07), U(rng, 0.04, 0.08)
    b.add(C.WINDOW, interior_glass(rng), box((-width / 2, 0.0, z0), (width / 2, 0.01, z1)))
    bars = _frame(-width / 2, width / 2, z0 + fw, z1 - fw, fw, fd)
    bars += _mullions(width, max(1, int(round(width / U(rng, 0.8, 1.4)))), fw / 2, fd, z0, z1)
    if rng.random() < 0.4:
        zt = U(rng, 2.0, 2.2)
        if zt < z1 - 0.3:
            bars.append(box((-width / 2, 0.0, zt - fw / 2), (width / 2, fd, zt + fw / 2)))
    b.add(C.WINDOW, frame_mat, *bars)
    if rng.random() < 0.7:
        frost = light_solid(rng, 0.7, 0.95)
        bands, zb = [], U(rng, 0.9, 1.2)
        for _ in range(int(rng.integers(1, 5))):
            hb = U(rng, 0.04, 0.3)
            if zb + hb > min(z1, 1.8):
                break
            bands.append(box((-width / 2, 0.011, zb), (width / 2, 0.014, zb + hb)))
            zb += hb + U(rng, 0.05, 0.3)
        if bands:
            b.add(C.WINDOW, frost, *bands)
    return b.item("glass-wall", wall=True)


def ribbon_window(rng: np.random.Generator, ceiling: float, width: float) -> Item:
    """A wide office window onto the street: several panes at desk height, an outdoor view."""
    b = Builder()
    sill = U(rng, 0.7, 1.0)
    top = ceiling - U(rng, 0.1, 0.4)
    frame_mat = metal(rng) if rng.random() < 0.6 else light_solid(rng, 0.6, 0.95)
    fw, fd = U(rng, 0.04, 0.09), U(rng, 0.04, 0.08)
    b.add(C.WINDOW, outdoor_view(rng), box((-width / 2, 0.0, sill), (width / 2, 0.008, top)))
    bars = _frame(-width / 2, width / 2, sill, top, fw, fd)
    bars += _mullions(width, max(2, int(round(width / U(rng, 0.7, 1.3)))), 0.025, fd * 0.8, sill, top)
    b.add(C.WINDOW, frame_mat, *bars)
    b.add(C.WINDOW, frame_mat, box((-width / 2 - fw, 0.0, sill - fw - 0.03), (width / 2 + fw, fd + 0.12, sill - fw)))
    return b.item("window", wall=True)


def _restyle_door(item: Item, rng: np.random.Generator) -> None:
    """Wood veneer on the slab, and a narrow vision panel at eye height on most flat doors."""
    slab = item.parts[0]
    raised_panels = len(item.parts) > 3  # slab, frame, [panels], handle: a glass panel would sit behind them
    lo, hi = slab.mesh.vertices.min(axis=0), slab.mesh.vertices.max(axis=0)
    item.parts[0] = replace(slab, materials=(wood_veneer(rng),))
    if rng.random() < 0.75:
        w, t = float(hi[0] - lo[0]), float(hi[1])
        pw, z0 = U(rng, 0.1, 0.3), U(rng, 0.95, 1.25)
        ph = min(U(rng, 0.5, 1.0), float(hi[2]) - 0.2 - z0)
        x0 = -w / 2 + U(rng, 0.15, max(0.16, w - pw - 0.15)) if rng.random() < 0.6 else -pw / 2
        panel = Part(box((x0, t, z0), (x0 + pw, t + 0.004, z0 + ph)), C.DOOR, (_dark_glass(rng),))
        rim = Part(merge(_frame(x0, x0 + pw, z0, z0 + ph, 0.02, 0.008, y0=t)), C.DOOR, (metal(rng),))
        if not raised_panels:  # drawn either way, so that the next doors and windows draw the same
            item.parts += [panel, rim]


def dress_openings(r, rng: np.random.Generator) -> None:
    """Outdoor views in the windows, restyled doors and glass walls, drawn from `rng` alone (the
    layout places the glass walls with it too, and gets its own generator back afterwards)."""
    view, mean_walls, doors = _OPENINGS.get(r.kind, _Chances(0.5, 0.0, 0.2))
    for pl in list(r.layout.placements):
        if pl.item.kind == "window" and rng.random() < view:
            pl.item.parts[0] = replace(pl.item.parts[0], materials=(outdoor_view(rng),))
        elif pl.item.kind == "door" and rng.random() < doors:
            _restyle_door(pl.item, rng)
    with r.layout.drawing_from(rng):
        if r.kind in ("office", "classroom") and rng.random() < 0.4:
            _hang(r, rng, ribbon_window, 1.6, 3.4)
        for _ in range(int(rng.poisson(mean_walls))):
            _hang(r, rng, glass_wall, 1.2, 4.0)


def _hang(r, rng: np.random.Generator, make, lo: float, hi: float) -> None:
    """The widest `make(rng, ceiling, width)` (lo-hi m, down to 0.75 lo) that finds free wall."""
    r.layout.widest_against_wall(
        lambda w: make(rng, r.height, w), U(rng, lo, hi), min_width=lo * 0.75, shrink=0.8, tries=20
    )


def room_openings_rng(seed: int, index: int) -> np.random.Generator:
    """The glazing's own generator for room `index` of `seed` (independent of the room's, props' and walls')."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x61A5, int(index)])
