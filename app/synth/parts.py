"""The building blocks every builder returns: labelled mesh parts grouped into items.

An `Item` is one placeable object (a bed with its pillows, a window with its blinds) in its
own local frame: x = width, y = depth (front towards +y), z up. Floor items have their
footprint centred on the origin; wall items start at the wall plane y = 0 and carry
absolute heights. `Surface`s are the tops where small things may stand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.synth.geometry import Mesh, merge
from app.synth.textures import Material


@dataclass
class Part:
    """One mesh with one NYU40 class id; triangles may use several materials (books on a shelf)."""

    mesh: Mesh
    cls: int
    materials: tuple[Material, ...]
    tri_material: np.ndarray | None = None  # (T,) index into `materials`; None = all use materials[0]

    def transformed(self, rotation: np.ndarray | None, translation) -> Part:
        return Part(self.mesh.transformed(rotation, translation), self.cls, self.materials, self.tri_material)


@dataclass(frozen=True)
class Surface:
    """A horizontal rectangle (local coords) at height z that can hold things up to max_height tall."""

    x0: float
    x1: float
    y0: float
    y1: float
    z: float
    max_height: float = 0.6


@dataclass
class Item:
    """A placeable object made of parts, in its local frame."""

    kind: str
    parts: list[Part]
    surfaces: list[Surface] = field(default_factory=list)
    keepout: list[tuple[tuple[float, float, float], tuple[float, float, float]]] = field(default_factory=list)
    wall: bool = False  # mounted on a wall: local y = 0 is the wall plane
    faces_parent: bool = False  # on a surface: keep the parent's orientation (screens, monitors)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.min([p.mesh.vertices.min(axis=0) for p in self.parts], axis=0)
        hi = np.max([p.mesh.vertices.max(axis=0) for p in self.parts], axis=0)
        return lo, hi

    @property
    def size(self) -> np.ndarray:
        lo, hi = self.bounds()
        return hi - lo


class Builder:
    """Collects parts while a builder function composes an item."""

    def __init__(self) -> None:
        self.parts: list[Part] = []

    def add(self, cls: int, material: Material, *meshes: Mesh) -> None:
        mesh = meshes[0] if len(meshes) == 1 else merge(list(meshes))
        self.parts.append(Part(mesh, int(cls), (material,)))

    def add_multi(self, cls: int, pieces: list[tuple[Mesh, Material]]) -> None:
        """Many meshes of one class with their own materials, as a single part (books on a shelf)."""
        if not pieces:
            return
        mats: list[Material] = []
        index: dict[int, int] = {}
        tri_mat = []
        for mesh, mat in pieces:
            key = id(mat)
            if key not in index:
                index[key] = len(mats)
                mats.append(mat)
            tri_mat.append(np.full(len(mesh.triangles), index[key], np.int32))
        merged = merge([m for m, _ in pieces])
        self.parts.append(Part(merged, int(cls), tuple(mats), np.concatenate(tri_mat)))

    def extend(self, item: Item, rotation: np.ndarray | None = None, translation=(0.0, 0.0, 0.0)) -> None:
        """Add the parts of another item, moved (a lamp built into a night stand group, pillows...)."""
        for p in item.parts:
            self.parts.append(p.transformed(rotation, translation))

    def item(self, kind: str, **kw) -> Item:
        return Item(kind=kind, parts=self.parts, **kw)
