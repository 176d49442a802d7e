"""Whole rooms, ready to render: the `Room` record, its point lights, and the entry points
`generate_room` (a furnished room of a type) and `shell_room` (an empty box for tests).

`generate_room(seed, index)` is a pure function of its arguments: the same seed and index
give the same room, whatever else was generated before. It draws from one generator in a
fixed order: shell outline, openings (`app.synth.shell`), furniture (`app.synth.furnishing`),
then the shell's materials, the lights and the ambient level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.synth.furnishing import Furnisher, furnish
from app.synth.glazing import dress_openings, room_openings_rng
from app.synth.materials import hsv
from app.synth.parts import Part
from app.synth.placement import Layout, Placement
from app.synth.props import dress_props, room_prop_rng
from app.synth.real_materials import restyle_parts, room_material_rng
from app.synth.shell import place_openings, shell_outline, shell_parts
from app.synth.wall_clutter import dress_walls, room_wall_rng
from app.synth.wall_items import ceiling_lamp

ROOM_TYPES = ("bedroom", "living", "office", "kitchen", "classroom", "bathroom")
ROOM_WEIGHTS = {"bedroom": 0.21, "living": 0.21, "office": 0.19, "kitchen": 0.16, "classroom": 0.08, "bathroom": 0.15}
# flat things on a wall that colour alone tells from the wall: what a wall view frames
WALL_VIEW_KINDS = ("whiteboard", "door", "window", "picture", "mirror", "notices")


@dataclass(frozen=True)
class Light:
    """A point light: the renderer shades with it and casts its shadow rays towards it."""

    position: tuple[float, float, float]
    intensity: tuple[float, float, float]  # linear RGB power; irradiance = intensity * cos / d^2


@dataclass
class Room:
    """A furnished room, ready to render. World frame: metres, z up, floor at z = 0."""

    index: int
    kind: str
    shape: str
    polygon: np.ndarray  # (K, 2) counter-clockwise outline
    rects: list[tuple[float, float, float, float]]  # the floor as disjoint rectangles
    height: float
    parts: list[Part]
    lights: list[Light]
    ambient: float
    layout: Layout
    targets: list[np.ndarray] = field(default_factory=list)  # things worth looking at
    # (centre, inward wall normal) of flat things on the walls that a wall view frames
    wall_targets: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        xs, ys = self.polygon[:, 0], self.polygon[:, 1]
        return {
            "room": self.index,
            "type": self.kind,
            "shape": self.shape,
            "size_m": [
                round(float(xs.max() - xs.min()), 3),
                round(float(ys.max() - ys.min()), 3),
                round(self.height, 3),
            ],
            "objects": len(self.items),
        }


def _lights(r: Furnisher) -> list[Light]:
    """Ceiling lamps (class lamp) with a point light under each; at least one light."""
    lights = []
    n = int(r.rng.integers(1, 3))
    for _ in range(n):
        lamp = ceiling_lamp(r.rng, r.height)
        lo, _hi = lamp.bounds()
        for _ in range(20):
            x, y = r.random_point()
            pl = Placement(lamp, x, y, 0.0)
            if r.layout.contains_free_point(x, y, 0.0, 0.5) and r.layout.fits(lamp, pl):
                r.layout.commit(pl)
                power = r.uniform(2.5, 6.0) * max(1.0, r.height / 2.6) ** 2
                tint = np.array(hsv(r.uniform(0.05, 0.15), r.uniform(0.0, 0.3), 1.0))
                lights.append(Light((x, y, float(lo[2]) - 0.06), tuple((power * tint).tolist())))
                break
    if not lights:
        x, y = r.random_point()
        lights.append(Light((x, y, r.height - 0.3), (4.0, 4.0, 4.0)))
    return lights


def generate_room(
    seed: int,
    index: int,
    kind: str | None = None,
    kinds: tuple[str, ...] = ROOM_TYPES,
    props: bool = False,
    props_density: float = 1.0,
    wall_clutter: bool = False,
    glazing: bool = False,
    real_materials: bool = False,
) -> Room:
    """Room number `index` of the dataset with this seed (deterministic); `props` adds everyday
    clutter (app.synth.props), `wall_clutter` used whiteboards and notices
    (app.synth.wall_clutter) and `glazing` outdoor views, glass walls and veneered doors
    (app.synth.glazing), each from its own generator, to the same room; `real_materials`
    re-dresses its furniture, walls and floors as real interiors are (app.synth.real_materials)."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5EED, int(index)])
    if kind is None:
        w = np.array([ROOM_WEIGHTS[k] for k in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
    if kind not in ROOM_TYPES:
        raise ValueError(f"unknown room type {kind!r}; choose from {', '.join(ROOM_TYPES)}")
    shape, poly, rects = shell_outline(rng, kind)
    height = float(rng.uniform(2.4, 3.0))
    r = Furnisher(rng, kind, poly, rects, height)
    place_openings(r.layout, rng, kind, height)
    furnish(r)
    if props:
        dress_props(r, room_prop_rng(seed, index), props_density)
    if wall_clutter:
        dress_walls(r, room_wall_rng(seed, index))
    if glazing:
        dress_openings(r, room_openings_rng(seed, index))
    parts = shell_parts(rng, kind, poly, rects, height)
    lights = _lights(r)
    targets, wall_targets = [], []
    for pl in r.layout.placements:
        parts.extend(pl.world_parts())
        if not pl.item.wall and pl.item.kind not in ("rug", "ceiling-lamp"):
            targets.append(pl.centre())  # the camera aims at furniture, not at bare walls and doors
        elif pl.item.wall and pl.wall is not None and pl.item.kind in WALL_VIEW_KINDS:
            wall_targets.append((pl.centre(), np.asarray(pl.wall.n, float)))
    ambient = float(rng.uniform(0.18, 0.4))
    if real_materials:
        parts = restyle_parts(parts, room_material_rng(seed, index))
    return Room(
        index=int(index),
        kind=kind,
        shape=shape,
        polygon=poly,
        rects=rects,
        height=height,
        parts=parts,
        lights=lights,
        ambient=ambient,
        layout=r.layout,
        targets=targets,
        wall_targets=wall_targets,
        items=[pl.item.kind for pl in r.layout.placements],
    )


def shell_room(
    width: float,
    depth: float,
    height: float,
    lights: list[Light] | None = None,
    ambient: float = 0.3,
    extra_parts: list[Part] | None = None,
    seed: int = 0,
) -> Room:
    """An empty rectangular room [0, width] x [0, depth] x [0, height] (tests, calibration scenes)."""
    rng = np.random.default_rng(seed)
    poly = np.array([[0, 0], [width, 0], [width, depth], [0, depth]], dtype=np.float64)
    rects = [(0.0, 0.0, float(width), float(depth))]
    parts = shell_parts(rng, "living", poly, rects, height) + list(extra_parts or [])
    if lights is None:
        lights = [Light((width / 2, depth / 2, height - 0.3), (4.0, 4.0, 4.0))]
    return Room(
        index=0,
        kind="empty",
        shape="rect",
        polygon=poly,
        rects=rects,
        height=float(height),
        parts=parts,
        lights=lights,
        ambient=ambient,
        layout=Layout(rng, poly, rects, height),
    )
