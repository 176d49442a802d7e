"""Collision-free placement: rejection sampling of oriented footprints against the room
outline and everything already placed (walls, furniture, door swing areas).

A `Placement` is an item plus a yaw about z and a translation; its oriented box (the
item's local bounds moved into the world) is what collisions are tested on.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from app.synth.geometry import (
    OBox,
    box_inside_polygon,
    distance_to_polygon_edges,
    overlaps,
    point_in_polygon,
    rot_z,
)
from app.synth.parts import Item, Part, Surface

MARGIN = 0.015  # minimum clearance between two placed things (m)


@dataclass(frozen=True)
class Wall:
    """One straight wall: from p0 to p1 (counter-clockwise outline), inward unit normal n."""

    p0: np.ndarray
    p1: np.ndarray
    n: np.ndarray
    length: float

    @property
    def direction(self) -> np.ndarray:
        return (self.p1 - self.p0) / self.length


@dataclass
class Placement:
    item: Item
    x: float
    y: float
    yaw: float
    z: float = 0.0
    wall: Wall | None = None
    obstacle_ids: list[int] = field(default_factory=list)
    parent: Placement | None = None  # what it stands on (None = the floor or a wall)

    @property
    def rotation(self) -> np.ndarray:
        return rot_z(self.yaw)

    def to_world(self, local) -> np.ndarray:
        p = np.asarray(local, dtype=np.float64)
        return self.rotation @ p + np.array([self.x, self.y, self.z])

    def world_parts(self) -> list[Part]:
        return [p.transformed(self.rotation, (self.x, self.y, self.z)) for p in self.item.parts]

    def boxes(self) -> list[OBox]:
        """The item's oriented bounding box, then its keep-out boxes (door swing areas)."""
        lo, hi = self.item.bounds()
        out = [_obox(lo, hi, self)]
        for klo, khi in self.item.keepout:
            out.append(_obox(np.asarray(klo), np.asarray(khi), self))
        return out

    def centre(self) -> np.ndarray:
        lo, hi = self.item.bounds()
        return self.to_world((lo + hi) / 2)


def _obox(lo: np.ndarray, hi: np.ndarray, pl: Placement) -> OBox:
    c = pl.to_world((lo + hi) / 2)
    return OBox(
        float(c[0]),
        float(c[1]),
        float(hi[0] - lo[0]) / 2,
        float(hi[1] - lo[1]) / 2,
        pl.yaw,
        float(lo[2] + pl.z),
        float(hi[2] + pl.z),
    )


def walls_of(polygon: np.ndarray) -> list[Wall]:
    out = []
    n = len(polygon)
    for i in range(n):
        p0, p1 = np.asarray(polygon[i], float), np.asarray(polygon[(i + 1) % n], float)
        d = p1 - p0
        length = float(np.linalg.norm(d))
        e = d / length
        out.append(Wall(p0, p1, np.array([-e[1], e[0]]), length))
    return out


def yaw_facing(n: np.ndarray) -> float:
    """The yaw that turns an item's front (+y) towards the direction n."""
    return math.atan2(-float(n[0]), float(n[1]))


class Layout:
    """Everything placed in one room so far, and the ways to place more."""

    def __init__(
        self,
        rng: np.random.Generator,
        polygon: np.ndarray,
        rects: list[tuple[float, float, float, float]],
        height: float,
    ) -> None:
        self.rng = rng
        self.polygon = polygon
        self.rects = rects
        self.height = height
        self.walls = walls_of(polygon)
        self.obstacles: list[OBox] = []
        self.is_keepout: list[bool] = []  # free space kept clear of furniture (door swing areas)
        self.placements: list[Placement] = []

    # ------------------------------------------------------------------ checks

    def fits(self, item: Item, pl: Placement, ignore: tuple[int, ...] = ()) -> bool:
        boxes = pl.boxes()
        for b in boxes:
            if not box_inside_polygon(b, self.polygon, margin=-0.004):
                return False
        if boxes[0].z1 > self.height + 1e-6 or boxes[0].z0 < -1e-6:
            return False
        for i, ob in enumerate(self.obstacles):
            if i in ignore:
                continue
            for b in boxes:
                if overlaps(b, ob, MARGIN):
                    return False
        return True

    def commit(self, pl: Placement, obstacle: bool = True) -> Placement:
        if obstacle:
            for k, b in enumerate(pl.boxes()):
                pl.obstacle_ids.append(len(self.obstacles))
                self.obstacles.append(b)
                self.is_keepout.append(k > 0)
        self.placements.append(pl)
        return pl

    def _try(self, item: Item, pl: Placement, obstacle: bool = True, ignore: tuple[int, ...] = ()) -> Placement | None:
        if self.fits(item, pl, ignore):
            return self.commit(pl, obstacle)
        return None

    @contextlib.contextmanager
    def drawing_from(self, rng: np.random.Generator) -> Iterator[None]:
        """Place with `rng` for a while, then with the layout's own generator again: what a room's
        optional dressing (props, wall clutter, glazing) uses so that the room itself is unchanged."""
        own, self.rng = self.rng, rng
        try:
            yield
        finally:
            self.rng = own

    # ------------------------------------------------------------------ strategies

    def pick_wall(self, min_length: float) -> Wall | None:
        walls = [w for w in self.walls if w.length >= min_length]
        if not walls:
            return None
        lengths = np.array([w.length for w in walls])
        return walls[int(self.rng.choice(len(walls), p=lengths / lengths.sum()))]

    def against_wall(
        self,
        item: Item,
        tries: int = 40,
        wall: Wall | None = None,
        s: float | None = None,
        gap: float | None = None,
        end: bool = False,
    ) -> Placement | None:
        """Back against a wall (floor items) or on it (wall items, gap 0), facing into the room.

        end=True pushes the item into a corner (tubs, counters, wardrobes).
        """
        lo, hi = item.bounds()
        w = float(hi[0] - lo[0])
        for _ in range(tries):
            wl = wall or self.pick_wall(w + 0.02)
            if wl is None:
                return None
            lo_s, hi_s = w / 2 + 0.005, wl.length - w / 2 - 0.005
            if hi_s < lo_s:
                if wall is not None:
                    return None
                continue
            if s is not None:
                sc = float(np.clip(s, lo_s, hi_s))
            elif end:
                sc = lo_s if self.rng.random() < 0.5 else hi_s
            else:
                sc = float(self.rng.uniform(lo_s, hi_s))
            g = (0.0 if item.wall else float(self.rng.uniform(0.005, 0.04))) if gap is None else gap
            e = wl.direction
            xc = (lo[0] + hi[0]) / 2
            origin = wl.p0 + e * (sc - xc) + wl.n * (g - lo[1])
            pl = Placement(item, float(origin[0]), float(origin[1]), yaw_facing(wl.n), 0.0, wall=wl)
            got = self._try(item, pl)
            if got is not None:
                return got
            if s is not None and wall is not None:
                return None
        return None

    def widest_against_wall(
        self, make: Callable[[float], Item], width: float, min_width: float, shrink: float, tries: int
    ) -> Placement | None:
        """`make(width)` on a wall, narrower by `shrink` on each retry down to `min_width`: a board or a
        glass wall as wide as the free wall allows."""
        while width >= min_width:
            got = self.against_wall(make(width), tries=tries)
            if got is not None:
                return got
            width *= shrink
        return None

    def free(
        self, item: Item, tries: int = 40, yaw: float | None = None, keep_clear_of_walls: float = 0.3
    ) -> Placement | None:
        """Anywhere on the floor, axis-aligned or at a random angle."""
        areas = np.array([(r[2] - r[0]) * (r[3] - r[1]) for r in self.rects])
        for _ in range(tries):
            r = self.rects[int(self.rng.choice(len(self.rects), p=areas / areas.sum()))]
            x = (
                float(self.rng.uniform(r[0] + keep_clear_of_walls, r[2] - keep_clear_of_walls))
                if r[2] - r[0] > 2 * keep_clear_of_walls
                else (r[0] + r[2]) / 2
            )
            y = (
                float(self.rng.uniform(r[1] + keep_clear_of_walls, r[3] - keep_clear_of_walls))
                if r[3] - r[1] > 2 * keep_clear_of_walls
                else (r[1] + r[3]) / 2
            )
            a = yaw
            if a is None:
                a = float(self.rng.integers(0, 4)) * math.pi / 2 + float(self.rng.normal(0, 0.12))
                if self.rng.random() < 0.2:
                    a = float(self.rng.uniform(0, 2 * math.pi))
            got = self._try(item, Placement(item, x, y, a))
            if got is not None:
                return got
        return None

    def relative(
        self, item: Item, anchor: Placement, dx: float, dy: float, dyaw: float, obstacle: bool = True
    ) -> Placement | None:
        """At a point given in the anchor's local frame (chairs round a table, night stands by a bed)."""
        p = anchor.to_world((dx, dy, 0.0))
        return self._try(item, Placement(item, float(p[0]), float(p[1]), anchor.yaw + dyaw), obstacle)

    def on_surface(self, item: Item, parent: Placement, surface: Surface, tries: int = 12) -> Placement | None:
        """Standing on a table top, a shelf board...; ignores the parent's own box."""
        lo, hi = item.bounds()
        if hi[2] - lo[2] > surface.max_height:
            return None
        for _ in range(tries):
            if item.faces_parent:
                dyaw = float(self.rng.normal(0, 0.08))
            else:
                dyaw = float(self.rng.integers(0, 4)) * math.pi / 2 + float(self.rng.normal(0, 0.3))
            # the child's footprint radius keeps it inside the surface whatever its yaw
            rad = float(np.hypot(max(-lo[0], hi[0]), max(-lo[1], hi[1])))
            if item.faces_parent:
                rad = float(max(-lo[0], hi[0]))
            x0, x1 = surface.x0 + rad, surface.x1 - rad
            y0, y1 = (
                surface.y0 + (rad if not item.faces_parent else max(-lo[1], hi[1])),
                surface.y1 - (rad if not item.faces_parent else max(-lo[1], hi[1])),
            )
            if x1 < x0 or y1 < y0:
                return None
            lx, ly = float(self.rng.uniform(x0, x1)), float(self.rng.uniform(y0, y1))
            if item.faces_parent:
                ly = float(self.rng.uniform(y0, y0 + 0.3 * (y1 - y0)))  # screens stand towards the back
            p = parent.to_world((lx, ly, surface.z))
            pl = Placement(item, float(p[0]), float(p[1]), parent.yaw + dyaw, float(p[2]), parent=parent)
            got = self._try(item, pl, ignore=tuple(parent.obstacle_ids))
            if got is not None:
                return got
        return None

    def contains_free_point(self, x: float, y: float, z_top: float, clearance: float) -> bool:
        """No object below z_top covers (x, y) (with clearance): where a person can stand.
        Keep-out areas (in front of doors) are free space, so they count as free."""
        if not point_in_polygon(x, y, self.polygon) or distance_to_polygon_edges(x, y, self.polygon) < clearance:
            return False
        return all(
            keep or not (b.z0 < z_top and b.contains_xy(x, y, clearance))
            for b, keep in zip(self.obstacles, self.is_keepout, strict=True)
        )
