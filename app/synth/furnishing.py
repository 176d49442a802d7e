"""Furnishing recipes: which furniture each room type gets and where (a bed against a wall
with night stands beside it, a sofa facing a TV, desks with chairs, a counter run with upper
cabinets...), then clutter, wall decor and small things on every top and shelf.

Kept apart from the room shell (`app.synth.shell`) because this is where room types differ
and grow; `furnish` runs the steps in the fixed order that makes a seed give the same room.
"""

from __future__ import annotations

import math

import numpy as np

from app.synth import furniture, kitchen_bath, wall_items
from app.synth.geometry import OBox, box_inside_polygon, overlaps
from app.synth.parts import Item
from app.synth.placement import Layout, Placement


class Furnisher:
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

    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

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
        rug = furniture.rug(self.rng, w, d)
        if anchor is not None:
            c = anchor.centre()
            pl = Placement(rug, float(c[0]), float(c[1]), anchor.yaw)
        else:
            pl = Placement(rug, *self.random_point(), float(self.rng.integers(0, 2)) * math.pi / 2)
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
        pl = Placement(furniture.rug(self.rng, w, d), float(c[0]), float(c[1]), anchor.yaw)
        self._commit_rug(pl)

    def random_point(self) -> tuple[float, float]:
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
            gap = self.uniform(0.02, 0.25)
            if x is None:  # at an end, facing along x
                dx = side * (hi[0] + gap + chi[1])
                self.rel(ch, table, dx, 0.0, side * math.pi / 2)
            else:
                dy = side * (hi[1] + gap + chi[1])
                self.rel(ch, table, x, dy, 0.0 if side < 0 else math.pi)

    def desk_with_chair(self) -> Placement | None:
        dk = self.wall(furniture.desk(self.rng))
        if dk is not None:
            ch = furniture.chair(self.rng)
            _, chi = ch.bounds()
            _, dhi = dk.item.bounds()
            self.rel(
                ch,
                dk,
                self.uniform(-0.2, 0.2),
                dhi[1] + self.uniform(0.0, 0.3) + chi[1],
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


def _bedroom(r: Furnisher) -> None:
    bed = r.wall(furniture.bed(r.rng), tries=60)
    if bed is not None:
        lo, hi = bed.item.bounds()
        for side in (-1, 1):
            if r.chance(0.75):
                ns = furniture.night_stand(r.rng)
                nlo, nhi = ns.bounds()
                dx = side * (hi[0] + r.uniform(0.02, 0.08) + (nhi[0] - nlo[0]) / 2)
                r.rel(ns, bed, dx, lo[1] - nlo[1] + 0.005, 0.0)
        if r.chance(0.6):
            r.rug_under(bed, (hi[0] - lo[0]) + r.uniform(0.4, 1.0), r.uniform(1.2, 1.8))
    r.some(lambda g: furniture.cabinet(g, "wardrobe"), 0.55)
    r.some(furniture.dresser, 0.6)
    if r.chance(0.35):
        r.desk_with_chair()
    r.some(furniture.bookshelf, 0.3)
    r.some(furniture.chair, 0.2, where="free")
    r.some(furniture.box_stack, 0.4, (1, 2))
    r.some(furniture.bag, 0.3, where="free")
    r.some(furniture.plant, 0.2)
    r.some(furniture.floor_lamp, 0.2)


def _living(r: Furnisher) -> None:
    sofa = r.wall(furniture.sofa(r.rng), tries=60) if r.chance(0.75) else r.free(furniture.sofa(r.rng))
    if sofa is not None:
        _, shi = sofa.item.bounds()
        ct = furniture.table(r.rng, "coffee")
        clo, chi = ct.bounds()
        table = r.rel(ct, sofa, r.uniform(-0.1, 0.1), shi[1] + r.uniform(0.3, 0.55) - clo[1], 0.0)
        if table is not None:
            if r.chance(0.8):
                r.rug_under(table, (chi[0] - clo[0]) + r.uniform(0.6, 1.4), (chi[1] - clo[1]) + r.uniform(0.6, 1.2))
            for side in (-1, 1):
                if r.chance(0.35):
                    ac = furniture.armchair(r.rng) if r.chance(0.6) else furniture.chair(r.rng)
                    _, ahi = ac.bounds()
                    r.rel(ac, table, side * (chi[0] + r.uniform(0.3, 0.6) + ahi[1]), 0.0, side * math.pi / 2)
        # a TV on a low cabinet on the wall facing the sofa
        if sofa.wall is not None and r.chance(0.7):
            facing = [w for w in r.layout.walls if float(np.dot(w.n, sofa.wall.n)) < -0.9]
            if facing:
                wl = facing[int(r.rng.integers(len(facing)))]
                proj = float(np.dot(np.array([sofa.x, sofa.y]) - wl.p0, wl.direction))
                stand = furniture.cabinet(r.rng, "low")
                pl = r.wall(stand, wall=wl, s=proj + r.uniform(-0.3, 0.3), tries=3)
                if pl is not None:
                    r.layout.on_surface(furniture.television(r.rng), pl, pl.item.surfaces[0])
        for side in (-1, 1):
            if r.chance(0.3):
                st = furniture.table(r.rng, "side")
                slo, shi2 = st.bounds()
                lo, hi = sofa.item.bounds()
                r.rel(st, sofa, side * (hi[0] + 0.05 + (shi2[0] - slo[0]) / 2), lo[1] - slo[1] + 0.01, 0.0)
    r.some(furniture.bookshelf, 0.5, (1, 2))
    r.some(furniture.floor_lamp, 0.5)
    r.some(furniture.plant, 0.5, (1, 2))
    r.some(furniture.cabinet, 0.3)
    r.some(furniture.stool, 0.2, where="free")
    r.some(furniture.armchair, 0.2, where="free")


def _office(r: Furnisher) -> None:
    for _ in range(int(r.rng.integers(1, 4))):
        r.desk_with_chair()
    r.some(furniture.bookshelf, 0.6, (1, 2))
    r.some(lambda g: furniture.cabinet(g, "filing" if g.random() < 0.6 else None), 0.6, (1, 2))
    if r.chance(0.3):
        t = r.free(furniture.table(r.rng, "meeting" if r.chance(0.5) else "dining"))
        if t is not None:
            r.chairs_around(t, int(r.rng.integers(2, 7)), furniture.chair)
            if r.chance(0.3):
                r.rug_under(t, r.uniform(1.5, 3.0), r.uniform(1.5, 2.5))
    elif r.chance(0.25):
        r.rug_under(None, r.uniform(1.0, 2.0), r.uniform(0.8, 1.6))
    r.some(furniture.box_stack, 0.6, (1, 3))
    r.some(furniture.plant, 0.3)
    r.some(furniture.chair, 0.2, where="free")
    r.some(furniture.bag, 0.2, where="free")


def _kitchen(r: Furnisher) -> None:
    wl = r.layout.pick_wall(1.6)
    if wl is not None and r.chance(0.85):
        length = min(wl.length - 0.1, r.uniform(1.4, 3.4))
        counter = r.wall(kitchen_bath.counter_run(r.rng, length), wall=wl, end=True, tries=6)
        if counter is not None and r.chance(0.65):
            up = wall_items.upper_cabinets(r.rng, r.height, length)
            r.layout.against_wall(
                up, wall=wl, s=float(np.dot(np.array([counter.x, counter.y]) - wl.p0, wl.direction)), tries=2
            )
    r.some(furniture.refrigerator, 0.75)
    if r.chance(0.75):
        t = r.free(furniture.table(r.rng, "dining"))
        if t is not None:
            r.chairs_around(t, int(r.rng.integers(2, 7)), furniture.chair)
            if r.chance(0.25):
                r.rug_under(t, r.uniform(1.6, 2.8), r.uniform(1.4, 2.4))
    r.some(furniture.cabinet, 0.4)
    r.some(furniture.plant, 0.2)
    r.some(furniture.stool, 0.2, where="free")
    r.some(furniture.box_stack, 0.2)


def _classroom(r: Furnisher) -> None:
    for _ in range(int(r.rng.integers(1, 4))):
        t = r.free(furniture.table(r.rng, "meeting" if r.chance(0.5) else "dining"))
        if t is not None:
            r.chairs_around(t, int(r.rng.integers(2, 8)), furniture.chair)
    for _ in range(int(r.rng.integers(0, 4))):
        r.free(furniture.chair(r.rng))
    r.some(furniture.cabinet, 0.6, (1, 2))
    r.some(furniture.bookshelf, 0.4, (1, 2))
    r.some(furniture.box_stack, 0.3)
    r.some(furniture.desk, 0.3)


def _bathroom(r: Furnisher) -> None:
    tub = r.wall(kitchen_bath.bathtub(r.rng), end=True, tries=30) if r.chance(0.85) else None
    r.wall(kitchen_bath.toilet(r.rng), tries=40)
    basin = r.wall(kitchen_bath.washbasin(r.rng), tries=40)
    if basin is not None and basin.wall is not None and r.chance(0.8):
        lo, hi = basin.item.bounds()
        s = float(np.dot(basin.centre()[:2] - basin.wall.p0, basin.wall.direction))
        r.layout.against_wall(
            wall_items.mirror(
                r.rng, r.height, z0=hi[2] + r.uniform(0.15, 0.35), width=min(1.0, (hi[0] - lo[0]) * r.uniform(0.8, 1.1))
            ),
            wall=basin.wall,
            s=s,
            tries=2,
        )
    front_of = [pl for pl in (tub, basin) if pl is not None]
    if front_of and r.chance(0.7):  # a bath mat in front of the tub or the basin
        r.rug_front(front_of[int(r.rng.integers(len(front_of)))], r.uniform(0.5, 0.8), r.uniform(0.4, 0.6))
    r.some(furniture.cabinet, 0.3)
    r.some(furniture.box_stack, 0.15)


_RECIPES = {
    "bedroom": _bedroom,
    "living": _living,
    "office": _office,
    "kitchen": _kitchen,
    "classroom": _classroom,
    "bathroom": _bathroom,
}


# extra furniture drawn per room type, by factory name in app.synth.furniture (a name twice is drawn twice as often)
_CLUTTER_NAMES = {
    "bedroom": ("chair", "box_stack", "bag", "plant", "stool", "cabinet", "bookshelf", "floor_lamp", "night_stand"),
    "living": ("armchair", "plant", "box_stack", "stool", "floor_lamp", "cabinet", "bookshelf", "chair", "bag"),
    "office": ("chair", "box_stack", "cabinet", "bookshelf", "plant", "bag", "stool", "desk"),
    "kitchen": ("chair", "stool", "box_stack", "cabinet", "plant", "bag"),
    "classroom": ("chair", "chair", "box_stack", "cabinet", "bookshelf", "bag", "stool", "desk"),
    "bathroom": ("box_stack", "cabinet", "bag", "stool"),
}
_CLUTTER = {kind: tuple(getattr(furniture, name) for name in names) for kind, names in _CLUTTER_NAMES.items()}


def _clutter(r: Furnisher) -> None:
    """Extra furniture until the floor is about as busy as in real rooms (NYUv2 rooms are cluttered)."""
    area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in r.layout.rects)
    pool = _CLUTTER[r.kind]
    for _ in range(int(r.rng.poisson(area / 3.0))):
        item = pool[int(r.rng.integers(len(pool)))](r.rng)
        if r.chance(0.6):
            r.wall(item, tries=10)
        else:
            r.free(item, tries=10)


def _wall_decor(r: Furnisher) -> None:
    k = r.kind
    h = r.height
    if k in ("office", "classroom") and r.chance(0.9 if k == "classroom" else 0.6):
        r.layout.against_wall(wall_items.whiteboard(r.rng, h))
    if k in ("living", "classroom", "bedroom") and r.chance(0.2):
        r.layout.against_wall(wall_items.wall_tv(r.rng, h))
    n_pic = int(r.rng.integers(0, 2 if k == "bathroom" else 5))
    for _ in range(n_pic):
        r.layout.against_wall(wall_items.picture(r.rng, h), tries=15)
    if r.chance(0.35 if k != "bathroom" else 0.5):
        sh = r.layout.against_wall(wall_items.wall_shelves(r.rng, h), tries=15)
        if sh is not None:
            r.with_surfaces.append(sh)
    if k == "bathroom" or (k == "kitchen" and r.chance(0.3)):
        for _ in range(int(r.rng.integers(1, 3))):
            r.layout.against_wall(wall_items.towel(r.rng, h), tries=15)
    if k in ("bedroom", "living") and r.chance(0.3):
        r.layout.against_wall(wall_items.mirror(r.rng, h), tries=10)


def _dress_surfaces(r: Furnisher) -> None:
    """Small things on tables, desks, night stands, counters and shelves."""
    for pl in list(r.with_surfaces):
        kind = pl.item.kind
        for surf in pl.item.surfaces:
            n = int(r.rng.integers(2, 6)) if kind == "wall-shelves" else int(r.rng.integers(0, 4))
            if kind == "desk" and r.chance(0.6):
                r.layout.on_surface(furniture.monitor(r.rng), pl, surf)
            if kind in ("night-stand", "desk", "side-table") and r.chance(0.55):
                r.layout.on_surface(furniture.table_lamp(r.rng), pl, surf)
            for _ in range(n):
                if kind == "wall-shelves":
                    thing = wall_items.shelf_filler(r.rng)
                else:
                    c = r.rng.random()
                    thing = (
                        furniture.books_pile(r.rng)
                        if c < 0.3
                        else furniture.small_box(r.rng)
                        if c < 0.5
                        else furniture.plant(r.rng, small=True)
                        if c < 0.65
                        else furniture.vase(r.rng)
                    )
                r.layout.on_surface(thing, pl, surf)


def furnish(r: Furnisher) -> None:
    """Everything but the shell and the lights: the room type's recipe, clutter, wall decor, small things."""
    _RECIPES[r.kind](r)
    _clutter(r)
    _wall_decor(r)
    _dress_surfaces(r)
