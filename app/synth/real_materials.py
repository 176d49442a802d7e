"""Everyday materials: furniture, walls and floors re-dressed as real interiors have them.

The shared random pool (app.synth.materials) gives a cabinet stripes or a checker board as
readily as wood, so that colour alone never tells the class. Real rooms are narrower: wood,
white and grey laminate, black and espresso; upholstery in muted fabrics and leather; walls
painted pale; floors in planks, carpet and neutral tiles. `restyle_parts` swaps only the
pool materials of furniture, walls and floors for draws from those palettes, from the room's
own generator, after the room is built: geometry, labels, camera poses and every other
material (props, pictures, screens, glass, metal, whiteboards) stay as they were.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from app.synth.classes import C
from app.synth.materials import hsv, random_seed, wood_colors
from app.synth.parts import Part
from app.synth.textures import FABRIC, SOLID, STRIPES, TILES, WOOD, Material

# names the shared pool gives its draws (app.synth.materials.random_material); anything else
# was chosen on purpose (metal, glass, screens, art, paint, planks, ...) and is kept
POOL_NAMES = frozenset({"solid", "wood", "fabric", "stripes", "checker", "tiles", "carpet"})
# walls: the shell's paint too, which may be any hue up to a third saturated (pink, lime)
WALL_NAMES = POOL_NAMES | {"paint"}

HARD_FURNITURE = frozenset({
    C.CABINET, C.TABLE, C.DESK, C.BOOKSHELF, C.SHELVES, C.DRESSER, C.NIGHT_STAND, C.COUNTER,
    C.OTHERFURNITURE, C.DOOR,
})
UPHOLSTERY = frozenset({C.SOFA, C.BED, C.PILLOW, C.CURTAIN, C.FLOOR_MAT})


def _branch_seed_angle(rng: np.random.Generator) -> tuple[float, int, float]:
    """The draws a finish with a direction starts from: which kind, its texture seed, along or across."""
    return float(rng.random()), random_seed(rng), float(rng.choice([0.0, math.pi / 2]))


def hard_finish(rng: np.random.Generator) -> Material:
    """Cabinets, tables, shelves, doors: wood grain, white or grey laminate, black, now and then a painted colour."""
    r, seed, angle = _branch_seed_angle(rng)
    if r < 0.4:
        c1, c2 = wood_colors(rng)
        return Material(WOOD, c1, c2, scale=float(rng.uniform(6, 20)), angle=angle,
                        noise=float(rng.uniform(0.02, 0.08)), seed=seed, name="real-wood")
    if r < 0.65:
        c = hsv(float(rng.uniform(0.05, 0.6)), float(rng.uniform(0.0, 0.08)), float(rng.uniform(0.65, 0.92)))
        name = "real-laminate"
    elif r < 0.8:
        c = hsv(float(rng.uniform(0.0, 0.12)), float(rng.uniform(0.0, 0.3)), float(rng.uniform(0.04, 0.2)))
        name = "real-dark"
    elif r < 0.9:
        c = hsv(float(rng.uniform(0.5, 0.65)), float(rng.uniform(0.0, 0.06)), float(rng.uniform(0.3, 0.6)))
        name = "real-grey"
    else:
        c = hsv(float(rng.random()), float(rng.uniform(0.15, 0.45)), float(rng.uniform(0.35, 0.8)))
        name = "real-painted"
    return Material(SOLID, c, c, scale=float(rng.uniform(2, 8)), angle=angle,
                    noise=float(rng.uniform(0.02, 0.06)), seed=seed, name=name)


def upholstery_finish(rng: np.random.Generator) -> Material:
    """Sofas, beds, cushions, curtains: woven fabric in muted colours, leather, a quiet stripe."""
    h = float(rng.random())
    s = float(rng.choice([rng.uniform(0.0, 0.12), rng.uniform(0.1, 0.4), rng.uniform(0.4, 0.7)], p=[0.4, 0.45, 0.15]))
    v = float(rng.uniform(0.1, 0.75))
    r = rng.random()
    seed = random_seed(rng)
    c1 = hsv(h, s, v)
    if r < 0.7:
        c2 = hsv(h, s, v * float(rng.uniform(0.6, 0.85)))
        return Material(FABRIC, c1, c2, scale=float(rng.uniform(4, 14)), noise=float(rng.uniform(0.05, 0.15)),
                        seed=seed, name="real-fabric")
    if r < 0.9:
        return Material(SOLID, c1, c1, scale=float(rng.uniform(2, 6)), noise=float(rng.uniform(0.05, 0.12)),
                        seed=seed, mirror=float(rng.uniform(0.0, 0.06)), name="real-leather")
    c2 = hsv(h + float(rng.uniform(-0.05, 0.05)), s, min(1.0, v * float(rng.uniform(1.1, 1.4))))
    return Material(STRIPES, c1, c2, scale=float(rng.uniform(3, 10)), noise=float(rng.uniform(0.03, 0.08)),
                    seed=seed, name="real-stripe")


def wall_finish(rng: np.random.Generator) -> Material:
    """Walls: pale paint mostly; wood panelling or brick now and then."""
    r = rng.random()
    seed = random_seed(rng)
    if r < 0.85:
        c = hsv(float(rng.uniform(0.0, 0.7)), float(rng.uniform(0.0, 0.2)), float(rng.uniform(0.6, 0.95)))
        return Material(SOLID, c, c, scale=float(rng.uniform(0.5, 4)), noise=float(rng.uniform(0.02, 0.08)),
                        seed=seed, name="real-paint")
    if r < 0.93:
        c1, c2 = wood_colors(rng)
        return Material(TILES, c1, c2, scale=float(rng.uniform(4, 8)), aspect=float(rng.uniform(6, 12)),
                        angle=math.pi / 2, noise=0.06, seed=seed, name="real-panelling")
    brick = hsv(float(rng.uniform(0.0, 0.07)), float(rng.uniform(0.3, 0.6)), float(rng.uniform(0.35, 0.7)))
    mortar = hsv(0.1, float(rng.uniform(0.0, 0.1)), float(rng.uniform(0.55, 0.85)))
    return Material(TILES, brick, mortar, scale=float(rng.uniform(12, 16)), aspect=3.0, noise=0.1, seed=seed,
                    name="real-brick")


def floor_finish(rng: np.random.Generator) -> Material:
    """Floors: wood planks, carpet in grey, beige or a dull blue, neutral tiles."""
    r, seed, angle = _branch_seed_angle(rng)
    if r < 0.4:
        c1, c2 = wood_colors(rng)
        return Material(TILES, c1, c2, scale=float(rng.uniform(5, 9)), aspect=float(rng.uniform(5, 10)),
                        angle=angle, noise=0.08, seed=seed, name="real-planks")
    if r < 0.75:
        c1 = hsv(float(rng.choice([rng.uniform(0.05, 0.12), rng.uniform(0.55, 0.65)])),
                 float(rng.uniform(0.0, 0.3)), float(rng.uniform(0.2, 0.6)))
        c2 = tuple(0.8 * x for x in c1)
        return Material(FABRIC, c1, c2, scale=float(rng.uniform(8, 20)), noise=float(rng.uniform(0.05, 0.15)),
                        seed=seed, name="real-carpet")
    tile = hsv(float(rng.uniform(0.0, 0.15)), float(rng.uniform(0.0, 0.15)), float(rng.uniform(0.4, 0.9)))
    grout = hsv(0.0, 0.0, float(rng.uniform(0.3, 0.7)))
    return Material(TILES, tile, grout, scale=float(rng.uniform(2.5, 5)), angle=angle, noise=0.04, seed=seed,
                    name="real-tiles")


def _finish_for(cls: int, rng: np.random.Generator) -> Callable[[np.random.Generator], Material] | None:
    """Which palette a part of this class draws from; None keeps its materials."""
    if cls == C.WALL:
        return wall_finish
    if cls == C.FLOOR:
        return floor_finish
    if cls in HARD_FURNITURE:
        return hard_finish
    if cls in UPHOLSTERY:
        return upholstery_finish
    if cls == C.CHAIR:  # wooden and plastic chairs as often as upholstered ones
        return hard_finish if rng.random() < 0.5 else upholstery_finish
    return None


def restyle_parts(parts: list[Part], rng: np.random.Generator) -> list[Part]:
    """The room's parts with the pool materials of furniture, walls and floors replaced.

    A pool material shared by several parts of one kind (the four walls, a cabinet's body and
    doors) gets one replacement, so objects stay one colour where they were."""
    swapped: dict[tuple[Material, str], Material] = {}
    out = []
    for part in parts:
        make = _finish_for(part.cls, rng)
        names = WALL_NAMES if part.cls == C.WALL else POOL_NAMES
        if make is None or not any(m.name in names for m in part.materials):
            out.append(part)
            continue
        materials = []
        for m in part.materials:
            if m.name in names:
                key = (m, make.__name__)
                if key not in swapped:
                    swapped[key] = make(rng)
                m = swapped[key]
            materials.append(m)
        out.append(Part(part.mesh, part.cls, tuple(materials), part.tri_material))
    return out


def room_material_rng(seed: int, index: int) -> np.random.Generator:
    """The everyday materials' own generator for room `index` of `seed` (the room's draws stay as they were)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x3A7E, int(index)])
