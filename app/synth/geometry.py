"""Triangle-mesh primitives and the oriented boxes used for collision-free placement.

World frame: metres, z up, floor at z = 0. Every furniture builder works in a local frame
(x = width, y = depth with the front at +y, z up from the floor) and is placed by a yaw
about z plus a translation, so only rotations about z (and local tilts) are needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The 12 outward-wound triangles of a unit cube whose corners are indexed by bits (x, y, z).
_BOX_TRIS = np.array(
    [
        [0, 2, 3], [0, 3, 1],  # z = 0 (bottom)
        [4, 5, 7], [4, 7, 6],  # z = 1 (top)
        [0, 1, 5], [0, 5, 4],  # y = 0
        [2, 6, 7], [2, 7, 3],  # y = 1
        [0, 4, 6], [0, 6, 2],  # x = 0
        [1, 3, 7], [1, 7, 5],  # x = 1
    ],
    dtype=np.int32,
)  # fmt: skip
_BOX_BITS = np.array([[(i >> 0) & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], dtype=np.float64)


@dataclass
class Mesh:
    """Vertices (V, 3) float64 and triangles (T, 3) int32."""

    vertices: np.ndarray
    triangles: np.ndarray

    def transformed(self, rotation: np.ndarray | None = None, translation=(0.0, 0.0, 0.0)) -> Mesh:
        v = self.vertices if rotation is None else self.vertices @ np.asarray(rotation).T
        return Mesh(v + np.asarray(translation, dtype=np.float64), self.triangles)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)


def rot_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def box(lo, hi) -> Mesh:
    """Axis-aligned box between corners lo and hi (each (x, y, z))."""
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    if np.any(hi <= lo):
        raise ValueError(f"box: hi {hi} must exceed lo {lo} on every axis")
    return Mesh(lo + _BOX_BITS * (hi - lo), _BOX_TRIS.copy())


def box_c(center, size) -> Mesh:
    """Axis-aligned box given its centre and full size."""
    c = np.asarray(center, dtype=np.float64)
    h = np.asarray(size, dtype=np.float64) / 2
    return box(c - h, c + h)


def frustum(
    r_bottom: float,
    r_top: float,
    height: float,
    base=(0.0, 0.0, 0.0),
    segments: int = 16,
    caps: bool = True,
    sx: float = 1.0,
    sy: float = 1.0,
) -> Mesh:
    """A (truncated) cone along +z from `base`; r_bottom == r_top gives a cylinder.

    sx, sy stretch the cross-section into an ellipse (toilet bowls, oval tables).
    """
    a = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    ring = np.stack([np.cos(a) * sx, np.sin(a) * sy], axis=1)
    bottom = np.concatenate([ring * r_bottom, np.zeros((segments, 1))], axis=1)
    top = np.concatenate([ring * r_top, np.full((segments, 1), height)], axis=1)
    verts = [bottom, top]
    i = np.arange(segments)
    j = (i + 1) % segments
    tris = [np.stack([i, j, segments + j], 1), np.stack([i, segments + j, segments + i], 1)]
    if caps:
        verts.append(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, height]]))
        cb, ct = 2 * segments, 2 * segments + 1
        tris.append(np.stack([np.full(segments, cb), j, i], 1))
        tris.append(np.stack([np.full(segments, ct), segments + i, segments + j], 1))
    v = np.concatenate(verts, axis=0) + np.asarray(base, dtype=np.float64)
    return Mesh(v, np.concatenate(tris, axis=0).astype(np.int32))


def ellipsoid(radii, center=(0.0, 0.0, 0.0), segments: int = 14, rings: int = 8, squareness: float = 1.0) -> Mesh:
    """A UV ellipsoid; squareness < 1 flattens it towards a rounded box (pillows, cushions)."""
    rx, ry, rz = radii
    theta = np.linspace(0.0, math.pi, rings + 1)[1:-1]
    phi = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")

    def sq(x: np.ndarray) -> np.ndarray:
        return np.sign(x) * np.abs(x) ** squareness

    x = sq(np.sin(t)) * sq(np.cos(p)) * rx
    y = sq(np.sin(t)) * sq(np.sin(p)) * ry
    z = sq(np.cos(t)) * rz
    body = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    verts = np.concatenate([body, [[0.0, 0.0, rz], [0.0, 0.0, -rz]]], axis=0)
    n_rings = rings - 1
    tris = []
    for r in range(n_rings - 1):
        for s in range(segments):
            a = r * segments + s
            b = r * segments + (s + 1) % segments
            c = (r + 1) * segments + s
            d = (r + 1) * segments + (s + 1) % segments
            tris += [[a, c, d], [a, d, b]]
    top, bot = len(body), len(body) + 1
    last = (n_rings - 1) * segments
    for s in range(segments):
        tris.append([top, s, (s + 1) % segments])
        tris.append([bot, last + (s + 1) % segments, last + s])
    return Mesh(verts + np.asarray(center, dtype=np.float64), np.asarray(tris, dtype=np.int32))


def wavy_panel(
    width: float,
    height: float,
    depth: float,
    waves: float,
    segments: int = 48,
    z0: float = 0.0,
    thickness: float = 0.01,
) -> Mesh:
    """A pleated vertical sheet (curtains): x in [-w/2, w/2], y = depth/2 * (1 + sin), z in [z0, z0 + h].

    Two offset surfaces so it reads as a thin closed shell from both sides.
    """
    x = np.linspace(-width / 2, width / 2, segments + 1)
    y = depth / 2 * (1 + np.sin(x / width * waves * 2 * math.pi))
    n = len(x)
    verts = []
    for off in (0.0, thickness):
        for z in (z0, z0 + height):
            verts.append(np.stack([x, y + off, np.full(n, z)], axis=1))
    v = np.concatenate(verts, axis=0)
    tris = []
    i = np.arange(n - 1)
    for sheet in (0, 1):
        lo, hi = sheet * 2 * n, sheet * 2 * n + n
        tris.append(np.stack([lo + i, lo + i + 1, hi + i + 1], 1))
        tris.append(np.stack([lo + i, hi + i + 1, hi + i], 1))
    # close the bottom and the top edges so no ray slips between the sheets
    for row_a, row_b in ((0, 2 * n), (n, 3 * n)):
        tris.append(np.stack([row_a + i, row_b + i, row_b + i + 1], 1))
        tris.append(np.stack([row_a + i, row_b + i + 1, row_a + i + 1], 1))
    return Mesh(v, np.concatenate(tris, axis=0).astype(np.int32))


def merge(meshes: list[Mesh]) -> Mesh:
    """One mesh from many (a part made of several pieces with one class and one material)."""
    verts, tris, offset = [], [], 0
    for m in meshes:
        verts.append(m.vertices)
        tris.append(m.triangles + offset)
        offset += len(m.vertices)
    return Mesh(np.concatenate(verts, axis=0), np.concatenate(tris, axis=0).astype(np.int32))


# ---------------------------------------------------------------------------- placement boxes


@dataclass(frozen=True)
class OBox:
    """An oriented box: centre (cx, cy), half-extents (hx, hy) rotated by yaw about z, from z0 to z1."""

    cx: float
    cy: float
    hx: float
    hy: float
    yaw: float
    z0: float
    z1: float

    def corners(self) -> np.ndarray:
        """(4, 2) footprint corners in the world."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        local = np.array([[-self.hx, -self.hy], [self.hx, -self.hy], [self.hx, self.hy], [-self.hx, self.hy]])
        rot = np.array([[c, -s], [s, c]])
        return local @ rot.T + np.array([self.cx, self.cy])

    def grown(self, margin: float) -> OBox:
        """Grown by `margin` on every side; shrunk (margin < 0) at most to a line, never turned inside out."""
        hx, hy = max(self.hx + margin, 0.0), max(self.hy + margin, 0.0)
        return OBox(self.cx, self.cy, hx, hy, self.yaw, self.z0, self.z1)

    def contains_xy(self, x: float, y: float, margin: float = 0.0) -> bool:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = x - self.cx, y - self.cy
        lx, ly = c * dx + s * dy, -s * dx + c * dy
        return abs(lx) <= self.hx + margin and abs(ly) <= self.hy + margin


def _axes(b: OBox) -> list[np.ndarray]:
    c, s = math.cos(b.yaw), math.sin(b.yaw)
    return [np.array([c, s]), np.array([-s, c])]


def overlaps(a: OBox, b: OBox, margin: float = 0.0) -> bool:
    """Whether two boxes intersect (2D separating axes on the footprints plus the z ranges)."""
    if a.z1 <= b.z0 + 1e-6 or b.z1 <= a.z0 + 1e-6:
        return False
    ca, cb = a.corners(), b.corners()
    for axis in _axes(a) + _axes(b):
        pa, pb = ca @ axis, cb @ axis
        if pa.max() + margin <= pb.min() or pb.max() + margin <= pa.min():
            return False
    return True


def point_in_polygon(x: float, y: float, poly: np.ndarray) -> bool:
    """Even-odd test; points on the boundary may go either way."""
    inside = False
    n = len(poly)
    for i in range(n):
        x0, y0 = poly[i]
        x1, y1 = poly[(i + 1) % n]
        if (y0 > y) != (y1 > y):
            xc = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
            if x < xc:
                inside = not inside
    return inside


def box_inside_polygon(b: OBox, poly: np.ndarray, margin: float = 0.0) -> bool:
    """The (grown) footprint lies inside the polygon: corners inside and no polygon vertex within it.

    Enough for the rectilinear room outlines generated here (rectangles and L-shapes).
    """
    g = b.grown(margin)
    if not all(point_in_polygon(float(x), float(y), poly) for x, y in g.corners()):
        return False
    return not any(g.contains_xy(float(x), float(y), -1e-6) for x, y in poly)


def distance_to_polygon_edges(x: float, y: float, poly: np.ndarray) -> float:
    best = math.inf
    n = len(poly)
    p = np.array([x, y])
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        ab = b - a
        t = float(np.clip(np.dot(p - a, ab) / np.dot(ab, ab), 0.0, 1.0))
        best = min(best, float(np.linalg.norm(p - (a + t * ab))))
    return best
