"""Whole rooms: the shell (rectangular or L-shaped), doors and windows, then furniture by room
type (bedroom, living room, office, kitchen, classroom, bathroom), wall decor, small things
on tops and shelves, ceiling lamps and the point lights.

`generate_room(seed, index)` is a pure function of its arguments: the same seed and index
give the same room, whatever else was generated before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from app.synth import furniture as F
from app.synth import kitchen_bath as KB
from app.synth import wall_items as WI
from app.synth.classes import C
from app.synth.furniture import U
from app.synth.geometry import Mesh, OBox, box_inside_polygon, overlaps
from app.synth.materials import hsv, light_solid, random_color, random_material, wood_colors
from app.synth.parts import Item, Part
from app.synth.placement import Layout, Placement
from app.synth.textures import SOLID, Material

ROOM_TYPES = ("bedroom", "living", "office", "kitchen", "classroom", "bathroom")
ROOM_WEIGHTS = {"bedroom": 0.21, "living": 0.21, "office": 0.19, "kitchen": 0.16, "classroom": 0.08, "bathroom": 0.15}


@dataclass(frozen=True)
class Light:
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


# ------------------------------------------------------------------------------ shell


def _quad(a, b, c, d) -> Mesh:
    return Mesh(np.array([a, b, c, d], dtype=np.float64), np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32))


def _shell_outline(rng: np.random.Generator, kind: str) -> tuple[str, np.ndarray, list]:
    if kind == "bathroom":
        W, D = U(rng, 1.8, 3.2), U(rng, 1.7, 2.8)
    elif kind == "classroom":
        W, D = U(rng, 4.5, 7.0), U(rng, 4.0, 6.0)
    else:
        W, D = U(rng, 2.8, 5.8), U(rng, 2.6, 5.0)
    if kind != "bathroom" and min(W, D) > 3.2 and rng.random() < 0.35:
        a, b = W * U(rng, 0.3, 0.5), D * U(rng, 0.3, 0.5)
        poly = np.array([[0, 0], [W, 0], [W, D - b], [W - a, D - b], [W - a, D], [0, D]], dtype=np.float64)
        rects = [(0.0, 0.0, W, D - b), (0.0, D - b, W - a, D)]
        return "L", poly, rects
    poly = np.array([[0, 0], [W, 0], [W, D], [0, D]], dtype=np.float64)
    return "rect", poly, [(0.0, 0.0, W, D)]


def _wall_material(rng: np.random.Generator, kind: str) -> Material:
    r = rng.random()
    if kind in ("bathroom", "kitchen") and r < 0.45:
        c1 = random_color(rng, light=U(rng, 0.55, 0.95))
        return Material(
            5,
            c1,
            hsv(0, 0, U(rng, 0.4, 0.9)),
            scale=U(rng, 3, 8),
            aspect=1.0,
            noise=0.03,
            seed=int(rng.integers(2**31 - 1)),
            name="wall-tiles",
        )
    if r < 0.7:
        c = hsv(rng.random(), U(rng, 0.0, 0.35), U(rng, 0.55, 0.95))
        return Material(
            SOLID, c, c, scale=U(rng, 0.5, 4), noise=U(rng, 0.02, 0.08), seed=int(rng.integers(2**31 - 1)), name="paint"
        )
    return random_material(rng, ("stripes", "solid", "tiles", "fabric", "checker", "wood"))


def _floor_material(rng: np.random.Generator, kind: str) -> Material:
    r = rng.random()
    seed = int(rng.integers(2**31 - 1))
    if kind == "bathroom" or (kind == "kitchen" and r < 0.6):
        c1 = random_color(rng, light=U(rng, 0.3, 0.9))
        return Material(
            5,
            c1,
            hsv(0, 0, U(rng, 0.2, 0.8)),
            scale=U(rng, 2.5, 6),
            aspect=1.0,
            noise=0.04,
            seed=seed,
            name="floor-tiles",
        )
    if r < 0.4:  # planks
        c1, c2 = wood_colors(rng)
        return Material(
            5,
            c1,
            c2,
            scale=U(rng, 5, 9),
            aspect=U(rng, 5, 10),
            angle=float(rng.choice([0, math.pi / 2])),
            noise=0.08,
            seed=seed,
            name="planks",
        )
    if r < 0.6:
        return random_material(rng, ("fabric",), name="carpet")
    if r < 0.8:
        return random_material(rng, ("tiles", "checker", "wood"))
    c = hsv(rng.random(), U(rng, 0.0, 0.3), U(rng, 0.2, 0.7))
    return Material(SOLID, c, c, scale=U(rng, 1, 6), noise=U(rng, 0.05, 0.2), seed=seed, name="concrete")


def _shell_parts(rng: np.random.Generator, kind: str, poly: np.ndarray, rects: list, height: float) -> list[Part]:
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


# ------------------------------------------------------------------------------ recipes


class _Room:
    """A room being furnished: the layout plus helpers that place and remember things."""

    def __init__(self, rng: np.random.Generator, kind: str, poly: np.ndarray, rects: list, height: float) -> None:
        self.rng = rng
        self.kind = kind
        self.height = height
        self.layout = Layout(rng, poly, rects, height)
        self.with_surfaces: list[Placement] = []
        self.free_parts: list[Placement] = []  # placed but not obstacles (rugs)

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def wall(self, item: Item, **kw) -> Placement | None:
        pl = self.layout.against_wall(item, **kw)
        if pl is not None and item.surfaces:
            self.with_surfaces.append(pl)
        return pl

    def free(self, item: Item, **kw) -> Placement | None:
        pl = self.layout.free(item, **kw)
        if pl is not None and item.surfaces:
            self.with_surfaces.append(pl)
        return pl

    def rel(self, item: Item, anchor: Placement, dx: float, dy: float, dyaw: float) -> Placement | None:
        pl = self.layout.relative(item, anchor, dx, dy, dyaw)
        if pl is not None and item.surfaces:
            self.with_surfaces.append(pl)
        return pl

    def rug_under(self, anchor: Placement | None, w: float, d: float) -> None:
        """A floor mat, centred on an anchor or anywhere; not an obstacle, but inside the room."""
        rug = F.rug(self.rng, w, d)
        if anchor is not None:
            c = anchor.centre()
            pl = Placement(rug, float(c[0]), float(c[1]), anchor.yaw)
        else:
            pl = Placement(rug, *self._random_point(), float(self.rng.integers(0, 2)) * math.pi / 2)
        self._commit_rug(pl)

    def _commit_rug(self, pl: Placement) -> None:
        inside = box_inside_polygon(pl.boxes()[0], self.layout.polygon, margin=0.05)
        if inside and all(not _overlap2d(pl, other) for other in self.free_parts):
            self.layout.commit(pl, obstacle=False)
            self.free_parts.append(pl)

    def rug_front(self, anchor: Placement, w: float, d: float) -> None:
        """A mat just in front of an item (bath mats)."""
        _, hi = anchor.item.bounds()
        c = anchor.to_world((0.0, hi[1] + d / 2 + 0.03, 0.0))
        pl = Placement(F.rug(self.rng, w, d), float(c[0]), float(c[1]), anchor.yaw)
        self._commit_rug(pl)

    def _random_point(self) -> tuple[float, float]:
        r = self.layout.rects[int(self.rng.integers(len(self.layout.rects)))]
        return float(self.rng.uniform(r[0], r[2])), float(self.rng.uniform(r[1], r[3]))

    # -- pieces shared by several room types

    def chairs_around(self, table: Placement, n: int, chair_factory) -> None:
        lo, hi = table.item.bounds()
        spots = []
        w, d = hi[0] - lo[0], hi[1] - lo[1]
        per_side = max(1, int(w // 0.6))
        for side in (-1, 1):
            for k in range(per_side):
                x = lo[0] + w * (k + 0.5) / per_side
                spots.append((x, side))
        ends = [(None, -1), (None, 1)] if d > 0.6 else []
        self.rng.shuffle(spots)
        spots = spots[:n] + (ends if n > len(spots) else [])
        for x, side in spots:
            ch = chair_factory(self.rng)
            clo, chi = ch.bounds()
            gap = U(self.rng, 0.02, 0.25)
            if x is None:  # at an end, facing along x
                dx = side * (hi[0] + gap + chi[1])
                self.rel(ch, table, dx, 0.0, side * math.pi / 2)
            else:
                dy = side * (hi[1] + gap + chi[1])
                self.rel(ch, table, x, dy, 0.0 if side < 0 else math.pi)

    def desk_with_chair(self) -> Placement | None:
        dk = self.wall(F.desk(self.rng))
        if dk is not None:
            ch = F.chair(self.rng)
            _, chi = ch.bounds()
            _, dhi = dk.item.bounds()
            self.rel(
                ch,
                dk,
                U(self.rng, -0.2, 0.2),
                dhi[1] + U(self.rng, 0.0, 0.3) + chi[1],
                math.pi + float(self.rng.normal(0, 0.3)),
            )
        return dk

    def some(self, factory, p: float, n: tuple[int, int] = (1, 1), where: str = "wall") -> None:
        if not self.chance(p):
            return
        for _ in range(int(self.rng.integers(n[0], n[1] + 1))):
            item = factory(self.rng)
            (self.wall if where == "wall" else self.free)(item)


def _overlap2d(a: Placement, b: Placement) -> bool:
    ba, bb = a.boxes()[0], b.boxes()[0]
    return overlaps(
        OBox(ba.cx, ba.cy, ba.hx, ba.hy, ba.yaw, 0, 1), OBox(bb.cx, bb.cy, bb.hx, bb.hy, bb.yaw, 0, 1), 0.05
    )


def _bedroom(r: _Room) -> None:
    bed = r.wall(F.bed(r.rng), tries=60)
    if bed is not None:
        lo, hi = bed.item.bounds()
        for side in (-1, 1):
            if r.chance(0.75):
                ns = F.night_stand(r.rng)
                nlo, nhi = ns.bounds()
                dx = side * (hi[0] + U(r.rng, 0.02, 0.08) + (nhi[0] - nlo[0]) / 2)
                r.rel(ns, bed, dx, lo[1] - nlo[1] + 0.005, 0.0)
        if r.chance(0.6):
            r.rug_under(bed, (hi[0] - lo[0]) + U(r.rng, 0.4, 1.0), U(r.rng, 1.2, 1.8))
    r.some(lambda g: F.cabinet(g, "wardrobe"), 0.55)
    r.some(F.dresser, 0.6)
    if r.chance(0.35):
        r.desk_with_chair()
    r.some(F.bookshelf, 0.3)
    r.some(F.chair, 0.2, where="free")
    r.some(F.box_stack, 0.4, (1, 2))
    r.some(F.bag, 0.3, where="free")
    r.some(F.plant, 0.2)
    r.some(F.floor_lamp, 0.2)


def _living(r: _Room) -> None:
    sofa = r.wall(F.sofa(r.rng), tries=60) if r.chance(0.75) else r.free(F.sofa(r.rng))
    if sofa is not None:
        _, shi = sofa.item.bounds()
        ct = F.table(r.rng, "coffee")
        clo, chi = ct.bounds()
        table = r.rel(ct, sofa, U(r.rng, -0.1, 0.1), shi[1] + U(r.rng, 0.3, 0.55) - clo[1], 0.0)
        if table is not None:
            if r.chance(0.8):
                r.rug_under(table, (chi[0] - clo[0]) + U(r.rng, 0.6, 1.4), (chi[1] - clo[1]) + U(r.rng, 0.6, 1.2))
            for side in (-1, 1):
                if r.chance(0.35):
                    ac = F.armchair(r.rng) if r.chance(0.6) else F.chair(r.rng)
                    _, ahi = ac.bounds()
                    r.rel(ac, table, side * (chi[0] + U(r.rng, 0.3, 0.6) + ahi[1]), 0.0, side * math.pi / 2)
        # a TV on a low cabinet on the wall facing the sofa
        if sofa.wall is not None and r.chance(0.7):
            facing = [w for w in r.layout.walls if float(np.dot(w.n, sofa.wall.n)) < -0.9]
            if facing:
                wl = facing[int(r.rng.integers(len(facing)))]
                proj = float(np.dot(np.array([sofa.x, sofa.y]) - wl.p0, wl.direction))
                stand = F.cabinet(r.rng, "low")
                pl = r.wall(stand, wall=wl, s=proj + U(r.rng, -0.3, 0.3), tries=3)
                if pl is not None:
                    r.layout.on_surface(F.television(r.rng), pl, pl.item.surfaces[0])
        for side in (-1, 1):
            if r.chance(0.3):
                st = F.table(r.rng, "side")
                slo, shi2 = st.bounds()
                lo, hi = sofa.item.bounds()
                r.rel(st, sofa, side * (hi[0] + 0.05 + (shi2[0] - slo[0]) / 2), lo[1] - slo[1] + 0.01, 0.0)
    r.some(F.bookshelf, 0.5, (1, 2))
    r.some(F.floor_lamp, 0.5)
    r.some(F.plant, 0.5, (1, 2))
    r.some(F.cabinet, 0.3)
    r.some(F.stool, 0.2, where="free")
    r.some(F.armchair, 0.2, where="free")


def _office(r: _Room) -> None:
    for _ in range(int(r.rng.integers(1, 4))):
        r.desk_with_chair()
    r.some(F.bookshelf, 0.6, (1, 2))
    r.some(lambda g: F.cabinet(g, "filing" if g.random() < 0.6 else None), 0.6, (1, 2))
    if r.chance(0.3):
        t = r.free(F.table(r.rng, "meeting" if r.chance(0.5) else "dining"))
        if t is not None:
            r.chairs_around(t, int(r.rng.integers(2, 7)), F.chair)
            if r.chance(0.3):
                r.rug_under(t, U(r.rng, 1.5, 3.0), U(r.rng, 1.5, 2.5))
    elif r.chance(0.25):
        r.rug_under(None, U(r.rng, 1.0, 2.0), U(r.rng, 0.8, 1.6))
    r.some(F.box_stack, 0.6, (1, 3))
    r.some(F.plant, 0.3)
    r.some(F.chair, 0.2, where="free")
    r.some(F.bag, 0.2, where="free")


def _kitchen(r: _Room) -> None:
    wl = r.layout.pick_wall(1.6)
    if wl is not None and r.chance(0.85):
        length = min(wl.length - 0.1, U(r.rng, 1.4, 3.4))
        counter = r.wall(KB.counter_run(r.rng, length), wall=wl, end=True, tries=6)
        if counter is not None and r.chance(0.65):
            up = WI.upper_cabinets(r.rng, r.height, length)
            r.layout.against_wall(
                up, wall=wl, s=float(np.dot(np.array([counter.x, counter.y]) - wl.p0, wl.direction)), tries=2
            )
    r.some(F.refrigerator, 0.75)
    if r.chance(0.75):
        t = r.free(F.table(r.rng, "dining"))
        if t is not None:
            r.chairs_around(t, int(r.rng.integers(2, 7)), F.chair)
            if r.chance(0.25):
                r.rug_under(t, U(r.rng, 1.6, 2.8), U(r.rng, 1.4, 2.4))
    r.some(F.cabinet, 0.4)
    r.some(F.plant, 0.2)
    r.some(F.stool, 0.2, where="free")
    r.some(F.box_stack, 0.2)


def _classroom(r: _Room) -> None:
    for _ in range(int(r.rng.integers(1, 4))):
        t = r.free(F.table(r.rng, "meeting" if r.chance(0.5) else "dining"))
        if t is not None:
            r.chairs_around(t, int(r.rng.integers(2, 8)), F.chair)
    for _ in range(int(r.rng.integers(0, 4))):
        r.free(F.chair(r.rng))
    r.some(F.cabinet, 0.6, (1, 2))
    r.some(F.bookshelf, 0.4, (1, 2))
    r.some(F.box_stack, 0.3)
    r.some(F.desk, 0.3)


def _bathroom(r: _Room) -> None:
    tub = r.wall(KB.bathtub(r.rng), end=True, tries=30) if r.chance(0.85) else None
    r.wall(KB.toilet(r.rng), tries=40)
    basin = r.wall(KB.washbasin(r.rng), tries=40)
    if basin is not None and basin.wall is not None and r.chance(0.8):
        lo, hi = basin.item.bounds()
        s = float(np.dot(basin.centre()[:2] - basin.wall.p0, basin.wall.direction))
        r.layout.against_wall(
            WI.mirror(
                r.rng, r.height, z0=hi[2] + U(r.rng, 0.15, 0.35), width=min(1.0, (hi[0] - lo[0]) * U(r.rng, 0.8, 1.1))
            ),
            wall=basin.wall,
            s=s,
            tries=2,
        )
    front_of = [pl for pl in (tub, basin) if pl is not None]
    if front_of and r.chance(0.7):  # a bath mat in front of the tub or the basin
        r.rug_front(front_of[int(r.rng.integers(len(front_of)))], U(r.rng, 0.5, 0.8), U(r.rng, 0.4, 0.6))
    r.some(F.cabinet, 0.3)
    r.some(F.box_stack, 0.15)


_RECIPES = {
    "bedroom": _bedroom,
    "living": _living,
    "office": _office,
    "kitchen": _kitchen,
    "classroom": _classroom,
    "bathroom": _bathroom,
}


_CLUTTER = {
    "bedroom": (F.chair, F.box_stack, F.bag, F.plant, F.stool, F.cabinet, F.bookshelf, F.floor_lamp, F.night_stand),
    "living": (F.armchair, F.plant, F.box_stack, F.stool, F.floor_lamp, F.cabinet, F.bookshelf, F.chair, F.bag),
    "office": (F.chair, F.box_stack, F.cabinet, F.bookshelf, F.plant, F.bag, F.stool, F.desk),
    "kitchen": (F.chair, F.stool, F.box_stack, F.cabinet, F.plant, F.bag),
    "classroom": (F.chair, F.chair, F.box_stack, F.cabinet, F.bookshelf, F.bag, F.stool, F.desk),
    "bathroom": (F.box_stack, F.cabinet, F.bag, F.stool),
}


def _clutter(r: _Room) -> None:
    """Extra furniture until the floor is about as busy as in real rooms (NYUv2 rooms are cluttered)."""
    area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in r.layout.rects)
    pool = _CLUTTER[r.kind]
    for _ in range(int(r.rng.poisson(area / 3.0))):
        item = pool[int(r.rng.integers(len(pool)))](r.rng)
        if r.chance(0.6):
            r.wall(item, tries=10)
        else:
            r.free(item, tries=10)


def _wall_decor(r: _Room) -> None:
    k = r.kind
    h = r.height
    if k in ("office", "classroom") and r.chance(0.9 if k == "classroom" else 0.6):
        r.layout.against_wall(WI.whiteboard(r.rng, h))
    if k in ("living", "classroom", "bedroom") and r.chance(0.2):
        r.layout.against_wall(WI.wall_tv(r.rng, h))
    n_pic = int(r.rng.integers(0, 2 if k == "bathroom" else 5))
    for _ in range(n_pic):
        r.layout.against_wall(WI.picture(r.rng, h), tries=15)
    if r.chance(0.35 if k != "bathroom" else 0.5):
        sh = r.layout.against_wall(WI.wall_shelves(r.rng, h), tries=15)
        if sh is not None:
            r.with_surfaces.append(sh)
    if k == "bathroom" or (k == "kitchen" and r.chance(0.3)):
        for _ in range(int(r.rng.integers(1, 3))):
            r.layout.against_wall(WI.towel(r.rng, h), tries=15)
    if k in ("bedroom", "living") and r.chance(0.3):
        r.layout.against_wall(WI.mirror(r.rng, h), tries=10)


def _dress_surfaces(r: _Room) -> None:
    """Small things on tables, desks, night stands, counters and shelves."""
    for pl in list(r.with_surfaces):
        kind = pl.item.kind
        for surf in pl.item.surfaces:
            n = int(r.rng.integers(2, 6)) if kind == "wall-shelves" else int(r.rng.integers(0, 4))
            if kind == "desk" and r.chance(0.6):
                r.layout.on_surface(F.monitor(r.rng), pl, surf)
            if kind in ("night-stand", "desk", "side-table") and r.chance(0.55):
                r.layout.on_surface(F.table_lamp(r.rng), pl, surf)
            for _ in range(n):
                if kind == "wall-shelves":
                    thing = WI.shelf_filler(r.rng)
                else:
                    c = r.rng.random()
                    thing = (
                        F.books_pile(r.rng)
                        if c < 0.3
                        else F.small_box(r.rng)
                        if c < 0.5
                        else F.plant(r.rng, small=True)
                        if c < 0.65
                        else F.vase(r.rng)
                    )
                r.layout.on_surface(thing, pl, surf)


def _lights(r: _Room) -> list[Light]:
    """Ceiling lamps (class lamp) with a point light under each; at least one light."""
    lights = []
    n = int(r.rng.integers(1, 3))
    for _ in range(n):
        lamp = WI.ceiling_lamp(r.rng, r.height)
        lo, _hi = lamp.bounds()
        for _ in range(20):
            x, y = r._random_point()
            pl = Placement(lamp, x, y, 0.0)
            if r.layout.contains_free_point(x, y, 0.0, 0.5) and r.layout.fits(lamp, pl):
                r.layout.commit(pl)
                power = U(r.rng, 2.5, 6.0) * max(1.0, r.height / 2.6) ** 2
                tint = np.array(hsv(U(r.rng, 0.05, 0.15), U(r.rng, 0.0, 0.3), 1.0))
                lights.append(Light((x, y, float(lo[2]) - 0.06), tuple((power * tint).tolist())))
                break
    if not lights:
        x, y = r._random_point()
        lights.append(Light((x, y, r.height - 0.3), (4.0, 4.0, 4.0)))
    return lights


def generate_room(seed: int, index: int, kind: str | None = None, kinds: tuple[str, ...] = ROOM_TYPES) -> Room:
    """Room number `index` of the dataset with this seed (deterministic)."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5EED, int(index)])
    if kind is None:
        w = np.array([ROOM_WEIGHTS[k] for k in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
    if kind not in ROOM_TYPES:
        raise ValueError(f"unknown room type {kind!r}; choose from {', '.join(ROOM_TYPES)}")
    shape, poly, rects = _shell_outline(rng, kind)
    height = U(rng, 2.4, 3.0)
    r = _Room(rng, kind, poly, rects, height)
    # openings first: doors, then windows
    for _ in range(1 + int(r.chance(0.15 if kind != "bathroom" else 0.0))):
        r.layout.against_wall(WI.door(rng, height), tries=30)
    n_win = int(rng.integers(0, 2)) if kind == "bathroom" else int(rng.choice([0, 1, 1, 2, 2, 3]))
    for _ in range(n_win):
        r.layout.against_wall(WI.window(rng, height), tries=20)
    _RECIPES[kind](r)
    _clutter(r)
    _wall_decor(r)
    _dress_surfaces(r)
    parts = _shell_parts(rng, kind, poly, rects, height)
    lights = _lights(r)
    targets = []
    for pl in r.layout.placements:
        parts.extend(pl.world_parts())
        if not pl.item.wall and pl.item.kind not in ("rug", "ceiling-lamp"):
            targets.append(pl.centre())  # the camera aims at furniture, not at bare walls and doors
    return Room(
        index=int(index),
        kind=kind,
        shape=shape,
        polygon=poly,
        rects=rects,
        height=height,
        parts=parts,
        lights=lights,
        ambient=U(rng, 0.18, 0.4),
        layout=r.layout,
        targets=targets,
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
    parts = _shell_parts(rng, "living", poly, rects, height) + list(extra_parts or [])
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
