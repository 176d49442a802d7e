"""Ray-cast rendering of a room with Open3D's `RaycastingScene` (CPU, no display).

Per pixel: the first hit gives depth (t along a ray whose camera-frame z is 1, i.e. depth
along the optical axis, not ray length), the label (the NYU40 class stored for the hit
geometry) and the surface point and normal. Colour = procedural albedo x (ambient with a
few short ambient-occlusion rays + Lambert from each point light, zero where a shadow ray
to the light is blocked) + emission; mirrors add one reflected bounce.

A `Look` makes the colour closer to a photograph, at a cost: 2x2 supersampled colour
(anti-aliased edges and fine print, 4x the shading), specular highlights of the lamps on
glossy surfaces (the glare on whiteboards and screens, a sheen on paint and varnish), and
writing drawn as lines of text. Depth and labels stay one ray per pixel, so they are the same
with or without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.synth.camera import CameraPose, camera_rays, make_intrinsics
from app.synth.noise import hash01
from app.synth.rooms import Room
from app.synth.textures import FABRIC, Material, albedo, legible_writing, material_table
from sgnet.frames import Intrinsics

EMISSION_LEVEL = 1.6  # radiance of a fully emissive surface, relative to a well-lit white wall
SHADOW_EPS = 1e-3


@dataclass(frozen=True)
class Look:
    """Render-time realism of the colour image; the default is the original look (byte-identical)."""

    supersample: int = 1  # colour from supersample x supersample rays per pixel, averaged
    glare: bool = False  # specular highlights of the point lights (Blinn-Phong)
    legible_writing: bool = False  # whiteboards and paper as lines of text (textures.MARKER)


PHOTO_LOOK = Look(supersample=2, glare=True, legible_writing=True)


@dataclass
class View:
    """What the ideal camera sees. rgb: linear radiance (H, W, 3) float32; depth: metres along the
    optical axis, inf where no surface; labels: NYU40 ids (0 = nothing); dropout: per-pixel chance
    that a stereo sensor returns no depth on that material; geometry: hit geometry ids (-1 = none)."""

    rgb: np.ndarray
    depth: np.ndarray
    labels: np.ndarray
    dropout: np.ndarray
    geometry: np.ndarray


class RoomRenderer:
    """Builds the ray-casting scene of one room once; renders any number of views of it."""

    def __init__(self, room: Room, ao_rays: int = 4, nthreads: int = 0, look: Look = Look()) -> None:
        import open3d as o3d

        if look.supersample < 1:
            raise ValueError(f"supersample must be at least 1, got {look.supersample}")
        self.room = room
        self.look = look
        self.ao_rays = int(ao_rays)
        self.nthreads = int(nthreads)
        self._o3d = o3d
        self.scene = o3d.t.geometry.RaycastingScene(nthreads=self.nthreads)
        materials: list[Material] = []
        mat_index: dict[Material, int] = {}
        classes, offsets, tri_mats = [], [], []
        n_tris = 0
        for part in room.parts:
            v = o3d.core.Tensor(np.ascontiguousarray(part.mesh.vertices, dtype=np.float32))
            t = o3d.core.Tensor(np.ascontiguousarray(part.mesh.triangles, dtype=np.uint32))
            gid = int(self.scene.add_triangles(v, t))
            if gid != len(classes):
                raise RuntimeError(f"Open3D returned geometry id {gid}, expected {len(classes)}")
            local = []
            for m in part.materials:
                if m not in mat_index:
                    mat_index[m] = len(materials)
                    materials.append(m)
                local.append(mat_index[m])
            local = np.asarray(local, np.int32)
            per_tri = (
                local[part.tri_material]
                if part.tri_material is not None
                else np.full(len(part.mesh.triangles), local[0])
            )
            classes.append(part.cls)
            offsets.append(n_tris)
            tri_mats.append(per_tri.astype(np.int32))
            n_tris += len(part.mesh.triangles)
        self.geom_class = np.asarray(classes + [0], np.uint8)  # last entry: "nothing hit"
        self.geom_offset = np.asarray(offsets + [0], np.int64)
        self.tri_material = np.concatenate(tri_mats + [np.zeros(1, np.int32)])
        self.table = material_table(materials)
        if look.legible_writing:
            self.table = legible_writing(self.table)
        if look.glare:
            self.table |= _gloss(self.table)
        self.n_geometries = len(classes)
        self._lights = [
            (np.asarray(li.position, np.float64), np.asarray(li.intensity, np.float32)) for li in room.lights
        ]

    # ------------------------------------------------------------------ ray casting

    def _cast(self, origins: np.ndarray, dirs: np.ndarray) -> dict[str, np.ndarray]:
        rays = _rays(origins, dirs)
        res = self.scene.cast_rays(self._o3d.core.Tensor(rays), nthreads=self.nthreads)
        t = res["t_hit"].numpy()
        gid = res["geometry_ids"].numpy().astype(np.int64)
        hit = np.isfinite(t)
        gid = np.where(hit, gid, self.n_geometries)
        prim = np.where(hit, res["primitive_ids"].numpy().astype(np.int64), 0)
        return {"t": t, "gid": gid, "prim": prim, "normal": res["primitive_normals"].numpy(), "hit": hit}

    def _occluded(self, origins: np.ndarray, dirs: np.ndarray, tfar: float) -> np.ndarray:
        rays = _rays(origins, dirs)
        return (
            self.scene.test_occlusions(self._o3d.core.Tensor(rays), tnear=0.0, tfar=tfar, nthreads=self.nthreads)
            .numpy()
            .astype(bool)
        )

    def probe(self, pose: CameraPose, grid: tuple[int, int] = (9, 12)) -> np.ndarray:
        """Depths on a coarse grid of rays (for rejecting blocked views)."""
        intr = make_intrinsics(grid[1], grid[0])
        d = camera_rays(intr).reshape(-1, 3) @ pose.rotation().T
        return self._cast(np.asarray(pose.position, np.float32), d)["t"].reshape(grid)

    # ------------------------------------------------------------------ shading

    def _shade(
        self,
        P: np.ndarray,
        N: np.ndarray,
        D: np.ndarray,
        gid: np.ndarray,
        prim: np.ndarray,
        rng: np.random.Generator,
        bounce: bool,
    ) -> np.ndarray:
        n = len(P)
        if n == 0:
            return np.zeros((0, 3), np.float32)
        mat = self.tri_material[self.geom_offset[gid] + prim]
        # planar texture coordinates from the dominant normal axis
        axis = np.argmax(np.abs(N), axis=1)
        u = np.where(axis == 0, P[:, 1], P[:, 0]).astype(np.float32)
        v = np.where(axis == 2, P[:, 1], P[:, 2]).astype(np.float32)
        alb = albedo(self.table, mat, u, v)
        origin = P + N * SHADOW_EPS
        # ambient: sky-like from above, dimmer from below, darkened by occlusion within 35 cm
        amb = self.room.ambient * (0.75 + 0.25 * N[:, 2]).astype(np.float32)
        if self.ao_rays > 0:
            amb = amb * self._ambient_occlusion(origin, N, rng)
        irr = np.repeat(amb[:, None], 3, axis=1).astype(np.float32)
        spec = np.zeros((n, 3), np.float32)
        for lpos, lint in self._lights:
            L = lpos[None, :] - P
            d2 = np.einsum("ij,ij->i", L, L)
            cos = np.einsum("ij,ij->i", N, L) / np.sqrt(d2)
            lit = np.nonzero(cos > 0)[0]
            if lit.size == 0:
                continue
            blocked = self._occluded(origin[lit], L[lit], 1.0 - 1e-3)
            lit = lit[~blocked]
            irr[lit] += (cos[lit] / (d2[lit] + 0.05))[:, None].astype(np.float32) * lint[None, :]
            if self.look.glare:
                spec += self._specular(N[lit], D[lit], L[lit], d2[lit], mat[lit], lint, lit, n)
        col = alb * irr
        if self.look.glare:  # what a glossy surface reflects as highlight it does not scatter
            col = col * (1.0 - 0.4 * self.table["specular"][mat])[:, None] + spec
        emis = self.table["emission"][mat]
        if np.any(emis > 0):
            col = col * (1 - emis)[:, None] + alb * (emis * EMISSION_LEVEL)[:, None]
        mirror = self.table["mirror"][mat]
        if bounce and np.any(mirror > 0):
            sel = np.nonzero(mirror > 0)[0]
            d = D[sel]
            nn = N[sel]
            r = d - 2 * np.einsum("ij,ij->i", d, nn)[:, None] * nn
            hit = self._cast(origin[sel], r)
            refl = np.zeros((len(sel), 3), np.float32)
            ok = np.nonzero(hit["hit"])[0]
            if ok.size:
                P2 = origin[sel][ok] + r[ok] * hit["t"][ok][:, None]
                N2 = _facing(hit["normal"][ok], r[ok])
                refl[ok] = self._shade(P2, N2, r[ok], hit["gid"][ok], hit["prim"][ok], rng, bounce=False)
            m = mirror[sel][:, None]
            col[sel] = col[sel] * (1 - m) + refl * m * alb[sel] / np.maximum(alb[sel].max(axis=1, keepdims=True), 1e-3)
        return col.astype(np.float32)

    def _specular(self, N, D, L, d2, mat, lint, lit, n) -> np.ndarray:
        """Blinn-Phong highlight of one light at the lit points, scattered back into an (n, 3) array."""
        ks, shininess = self.table["specular"][mat], self.table["shininess"][mat]
        out = np.zeros((n, 3), np.float32)
        glossy = ks > 0
        if not np.any(glossy):
            return out
        Lu = L / np.sqrt(d2)[:, None]
        Vu = -D / np.linalg.norm(D, axis=1, keepdims=True)
        H = Lu + Vu
        H /= np.maximum(np.linalg.norm(H, axis=1, keepdims=True), 1e-9)
        nh = np.clip(np.einsum("ij,ij->i", N, H), 0.0, 1.0)
        s = (ks * nh**shininess / (d2 + 0.05)).astype(np.float32)
        out[lit] = s[:, None] * lint[None, :]
        return out

    def _ambient_occlusion(self, origin: np.ndarray, N: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Share of k cosine-weighted hemisphere rays that escape within 0.35 m (contact shadows, corners)."""
        n = len(origin)
        nx, ny, nz = N[:, 0], N[:, 1], N[:, 2]
        # a tangent perpendicular to N: N x z where N is not vertical, N x x where it is
        vertical = np.abs(nz) >= 0.9
        t1 = np.stack([np.where(vertical, 0, ny), np.where(vertical, nz, -nx), np.where(vertical, -ny, 0)], axis=1)
        t1 = t1 / np.linalg.norm(t1, axis=1, keepdims=True)
        t2 = np.stack(
            [ny * t1[:, 2] - nz * t1[:, 1], nz * t1[:, 0] - nx * t1[:, 2], nx * t1[:, 1] - ny * t1[:, 0]], axis=1
        )
        free = np.zeros(n, np.float32)
        k = self.ao_rays
        rot = rng.random(n, dtype=np.float32) * np.float32(2 * math.pi)
        for i in range(k):
            r1 = (i + rng.random(n, dtype=np.float32)) / np.float32(k)
            phi = rot + np.float32(2 * math.pi * i / k)
            s = np.sqrt(r1)
            z = np.sqrt(np.maximum(0.0, 1 - r1))
            d = t1 * (s * np.cos(phi))[:, None] + t2 * (s * np.sin(phi))[:, None] + N * z[:, None]
            free += ~self._occluded(origin, d, 0.35)
        return 0.45 + 0.55 * free / k

    # ------------------------------------------------------------------ views

    def render(self, pose: CameraPose, intr: Intrinsics, rng: np.random.Generator | None = None) -> View:
        """The ideal (noise-free) view from `pose`. rng drives the ambient-occlusion sampling only."""
        rng = rng if rng is not None else np.random.default_rng(0)
        h, w = intr.height, intr.width
        dirs = (_cached_rays(intr).reshape(-1, 3) @ pose.rotation().T.astype(np.float32)).astype(np.float32)
        origin = np.asarray(pose.position, np.float32)
        hit = self._cast(origin, dirs)
        f = self.look.supersample
        if f == 1:
            rgb = self._radiance(origin, dirs, hit, rng)
        else:
            fine = _supersampled(intr, f)
            fdirs = (_cached_rays(fine).reshape(-1, 3) @ pose.rotation().T.astype(np.float32)).astype(np.float32)
            rgb = self._radiance(origin, fdirs, self._cast(origin, fdirs), rng)
            rgb = rgb.reshape(h, f, w, f, 3).mean(axis=(1, 3)).reshape(h * w, 3)
        gid = hit["gid"]
        mat = self.tri_material[self.geom_offset[gid] + hit["prim"]]
        dropout = np.where(hit["hit"], self.table["depth_dropout"][mat], 0.0).astype(np.float32)
        depth = np.where(hit["hit"], hit["t"], np.inf).astype(np.float32)
        return View(
            rgb=rgb.reshape(h, w, 3),
            depth=depth.reshape(h, w),
            labels=self.geom_class[gid].reshape(h, w),
            dropout=dropout.reshape(h, w),
            geometry=np.where(hit["hit"], gid, -1).reshape(h, w).astype(np.int32),
        )

    def _radiance(self, origin: np.ndarray, dirs: np.ndarray, hit: dict, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) linear colour of the rays' first hits (black where nothing was hit)."""
        ok = np.nonzero(hit["hit"])[0]
        rgb = np.zeros((len(dirs), 3), np.float32)
        if ok.size:
            D = dirs[ok]
            P = origin[None, :] + D * hit["t"][ok][:, None]
            N = _facing(hit["normal"][ok], D)
            rgb[ok] = self._shade(P, N, D, hit["gid"][ok], hit["prim"][ok], rng, bounce=True)
        return rgb


def _supersampled(intr: Intrinsics, f: int) -> Intrinsics:
    """Intrinsics of an f-times finer grid whose f x f blocks average to the pixels of `intr`:
    fine pixel f*i + a sits at coarse coordinate i + (a + 0.5) / f - 0.5."""
    return Intrinsics(
        width=intr.width * f,
        height=intr.height * f,
        fx=intr.fx * f,
        fy=intr.fy * f,
        cx=intr.cx * f + (f - 1) / 2.0,
        cy=intr.cy * f + (f - 1) / 2.0,
    )


def _gloss(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Specular strength and Blinn-Phong exponent per material: reflective ones (whiteboards,
    screens, glass, mirrors) a strong and tighter highlight growing with their reflectivity;
    other non-fabric surfaces a faint broad sheen of their own (paint, varnish, plastic)."""
    mirror = table["mirror"]
    seed = table["seed"]
    sheen = 0.12 * hash01(seed, np.full(len(seed), 7, np.int64), np.zeros(len(seed), np.int64))
    sheen = np.where(table["pattern"] == FABRIC, 0.0, sheen)
    specular = np.where(mirror > 0, np.clip(0.3 + 5.0 * mirror, 0.0, 0.9), sheen).astype(np.float32)
    shininess = np.where(mirror > 0, 8.0 + 150.0 * mirror, 10.0).astype(np.float32)
    return {"specular": specular, "shininess": shininess}


def _facing(normals: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Unit normals flipped to face the incoming rays (mesh winding does not matter)."""
    n = normals.astype(np.float32)
    sign = np.where(np.einsum("ij,ij->i", n, dirs) > 0, np.float32(-1), np.float32(1))
    return n * sign[:, None]


def _rays(origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """(n, 6) float32 rays; origins may be one point (3,) shared by all rays."""
    out = np.empty((len(dirs), 6), np.float32)
    out[:, :3] = origins
    out[:, 3:] = dirs
    return out


_RAY_CACHE: dict[Intrinsics, np.ndarray] = {}


def _cached_rays(intr: Intrinsics) -> np.ndarray:
    if intr not in _RAY_CACHE:
        if len(_RAY_CACHE) > 8:
            _RAY_CACHE.clear()
        _RAY_CACHE[intr] = camera_rays(intr).astype(np.float32)
    return _RAY_CACHE[intr]
