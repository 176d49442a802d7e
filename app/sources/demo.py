"""The embedded demo: a synthetic room the project renders itself — no camera, no download.

A 6 x 2.8 x 5 m room (floor, ceiling, four walls) with a cabinet, a table, a sofa, a bed and
a box, seen by a camera that circles the room while panning. Every pixel is ray-cast in
numpy (ray/plane for the room, slab test for the boxes), so depth and color come from the
same geometry and agree exactly; the ground-truth NYUv2-40 labels come for free
(`DemoScene.render(i).labels`). The path loops every `LOOP_FRAMES` frames and rendered
frames are cached (up to `CACHE_BYTES`), so after the first loop the source costs nothing.
This module is the one place to swap in pre-rendered scenes later.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from app.frames import Intrinsics, RGBDFrame
from app.sources.base import Source, SourceInfo, SourceItem, SourceOptions, now_ns

DEFAULT_SIZE = (320, 240)
DEFAULT_FPS = 30
LOOP_FRAMES = 150  # 5 s at 30 FPS
CACHE_BYTES = 256 * 2**20
DEPTH_SCALE = 0.001  # millimetres, like a RealSense D400
FOV_X_DEG = 69.0  # a D435's color camera

ROOM_LO = np.array([0.0, 0.0, 0.0], np.float32)
ROOM_HI = np.array([6.0, 2.8, 5.0], np.float32)

# NYUv2-40 prediction ids (index into assets.class_names()).
WALL, FLOOR, CABINET, BED, SOFA, TABLE, CEILING, BOX = 0, 1, 2, 3, 5, 6, 21, 28


@dataclass(frozen=True)
class Box:
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    label: int
    rgb: tuple[int, int, int]


FURNITURE = (
    Box((0.1, 0.0, 3.9), (1.1, 1.9, 4.9), CABINET, (150, 100, 60)),
    Box((3.3, 0.0, 3.6), (4.7, 0.75, 4.5), TABLE, (190, 160, 110)),
    Box((4.9, 0.0, 0.4), (5.9, 0.85, 2.4), SOFA, (70, 90, 160)),
    Box((0.2, 0.0, 0.2), (2.0, 0.55, 1.6), BED, (200, 200, 215)),
    Box((3.8, 0.75, 3.8), (4.2, 1.05, 4.2), BOX, (210, 140, 40)),
)
ROOM_RGB = {WALL: (205, 195, 175), FLOOR: (125, 95, 70), CEILING: (235, 235, 230)}
LIGHT = np.array([0.35, 0.85, 0.4], np.float32) / np.linalg.norm([0.35, 0.85, 0.4])


@dataclass(frozen=True)
class DemoImage:
    color: np.ndarray  # uint8 HxWx3 RGB
    depth: np.ndarray  # uint16 HxW, millimetres
    labels: np.ndarray  # uint8 HxW NYUv2-40 ids


def camera_pose(t: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera position and camera-to-world rotation (columns: right, down, forward) at loop phase t in [0, 1)."""
    a = 2 * math.pi * t
    centre = np.array([3.0, 1.45, 2.4])
    pos = centre + np.array([0.9 * math.cos(a), 0.12 * math.sin(2 * a), 0.7 * math.sin(a)])
    yaw = a + math.pi + 0.6 * math.sin(a)  # look across the room, swinging left and right
    pitch = -0.25 + 0.08 * math.sin(3 * a)
    fwd = np.array([math.cos(pitch) * math.cos(yaw), math.sin(pitch), math.cos(pitch) * math.sin(yaw)])
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    return pos.astype(np.float32), np.stack([right, down, fwd], axis=1).astype(np.float32)


class DemoScene:
    """Renders frame i of the looping path at width x height; deterministic."""

    def __init__(self, width: int = DEFAULT_SIZE[0], height: int = DEFAULT_SIZE[1], loop: int = LOOP_FRAMES) -> None:
        if width < 8 or height < 8:
            raise ValueError(f"demo size must be at least 8x8, got {width}x{height}")
        self.width, self.height, self.loop = int(width), int(height), int(loop)
        f = (width / 2) / math.tan(math.radians(FOV_X_DEG) / 2)
        self.intrinsics = Intrinsics(width, height, f, f, (width - 1) / 2, (height - 1) / 2)
        u = (np.arange(width, dtype=np.float32) - self.intrinsics.cx) / f
        v = (np.arange(height, dtype=np.float32) - self.intrinsics.cy) / f
        # Rays in the camera frame with z = 1, so the ray parameter t is the z-depth itself.
        self._rays = np.stack(np.broadcast_arrays(u[None, :], v[:, None], np.ones((1, 1), np.float32)))

    def render(self, i: int) -> DemoImage:
        pos, rot = camera_pose((i % self.loop) / self.loop)
        rx, ry = self._rays[0], self._rays[1]
        # World ray directions (rays have z = 1); written out, as BLAS threads cost more than they save here.
        d = np.stack([rot[k, 0] * rx + rot[k, 1] * ry + rot[k, 2] for k in range(3)])
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / d
            # Room (the camera is inside): a ray leaves each slab at the larger of its two plane hits.
            t_ax = [np.maximum((ROOM_LO[a] - pos[a]) * inv[a], (ROOM_HI[a] - pos[a]) * inv[a]) for a in range(3)]
        t = np.minimum(np.minimum(t_ax[0], t_ax[1]), t_ax[2])
        axis = np.where(t_ax[0] <= t, 0, np.where(t_ax[1] <= t, 1, 2)).astype(np.uint8)
        # Face id: axis * 2 + (ray direction along that axis > 0).
        face = axis * 2 + (np.take_along_axis(d, axis[None].astype(np.intp), 0)[0] > 0)
        labels = _ROOM_FACE_LABEL[face]
        for box in FURNITURE:
            win = self._window(box, pos, rot)
            if win is None:
                continue
            ys, xs = win
            dw, iw = d[:, ys, xs], inv[:, ys, xs]
            lo, hi = np.asarray(box.lo, np.float32) - pos, np.asarray(box.hi, np.float32) - pos
            with np.errstate(invalid="ignore"):
                t_lo, t_hi = [lo[a] * iw[a] for a in range(3)], [hi[a] * iw[a] for a in range(3)]
                near = [np.minimum(t_lo[a], t_hi[a]) for a in range(3)]
                far = [np.maximum(t_lo[a], t_hi[a]) for a in range(3)]
            tnear = np.maximum(np.maximum(near[0], near[1]), near[2])
            tfar = np.minimum(np.minimum(far[0], far[1]), far[2])
            tw = t[ys, xs]
            hit = (tnear <= tfar) & (tnear > 0) & (tnear < tw)
            if not hit.any():
                continue
            bax = np.where(near[0] >= tnear, 0, np.where(near[1] >= tnear, 1, 2)).astype(np.uint8)
            bface = bax * 2 + (np.take_along_axis(dw, bax[None].astype(np.intp), 0)[0] > 0)
            tw[hit] = tnear[hit]
            labels[ys, xs][hit] = box.label
            face[ys, xs][hit] = bface[hit]
        # Color = label's base color x Lambert shading of the face x a texture fixed to the 3D point.
        px = pos[0] + t * d[0]
        pz = pos[2] + t * d[2]
        checker = ((px * 2.0).astype(np.int32) + (pz * 2.0).astype(np.int32)) & 1  # coordinates are >= 0
        stripes = np.sin((px + pz) * np.float32(9.0))
        texture = np.where(labels == FLOOR, 0.85 + 0.15 * checker.astype(np.float32), 0.965 + 0.035 * stripes)
        gain = _FACE_SHADE[face] * texture * (0.6 + 0.4 / (1.0 + 0.04 * t * t))
        gain8 = np.minimum(gain * 256.0, 256.0).astype(np.uint16)  # fixed point, 8 fractional bits
        color = ((_LABEL_RGB[labels] * gain8[..., None]) >> 8).astype(np.uint8)
        depth = np.minimum(t * np.float32(1.0 / DEPTH_SCALE) + np.float32(0.5), 65535.0).astype(np.uint16)
        return DemoImage(color=color, depth=depth, labels=labels)

    def _window(self, box: Box, pos: np.ndarray, rot: np.ndarray) -> tuple[slice, slice] | None:
        """The image rectangle the box can cover (its projected corners), None if behind the camera."""
        corners = np.array(np.meshgrid(*zip(box.lo, box.hi, strict=True), indexing="ij")).reshape(3, -1).T
        cam = (corners - pos) @ rot  # world -> camera (rot is orthonormal)
        z = cam[:, 2]
        if (z <= 0.05).all():
            return None
        if (z <= 0.05).any():
            return slice(0, self.height), slice(0, self.width)
        k = self.intrinsics
        u = cam[:, 0] / z * k.fx + k.cx
        v = cam[:, 1] / z * k.fy + k.cy
        x0, x1 = max(int(np.floor(u.min())), 0), min(int(np.ceil(u.max())) + 1, self.width)
        y0, y1 = max(int(np.floor(v.min())), 0), min(int(np.ceil(v.max())) + 1, self.height)
        if x0 >= x1 or y0 >= y1:
            return None
        return slice(y0, y1), slice(x0, x1)


def _luts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    room = np.array([WALL, WALL, FLOOR, CEILING, WALL, WALL], np.uint8)  # by face: -x, +x, -y(floor), +y, -z, +z
    rgb = np.zeros((256, 3), np.uint16)
    for lab, c in ROOM_RGB.items():
        rgb[lab] = c
    for box in FURNITURE:
        rgb[box.label] = box.rgb
    # A ray going +axis hits a face whose outward normal points -axis, and vice versa.
    normals = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], np.float32)
    shade = (0.55 + 0.45 * np.clip(normals @ LIGHT, 0.0, 1.0)).astype(np.float32)
    return room, rgb, shade


_ROOM_FACE_LABEL, _LABEL_RGB, _FACE_SHADE = _luts()


class DemoSource(Source):
    """The demo as a source: lossless, as fast as it is consumed, or paced at fps with realtime=True."""

    def __init__(self, options: SourceOptions | None = None, loop: int = LOOP_FRAMES) -> None:
        super().__init__()
        opts = options or SourceOptions()
        width, height = opts.width or DEFAULT_SIZE[0], opts.height or DEFAULT_SIZE[1]
        self._fps = float(opts.fps or DEFAULT_FPS)
        self._realtime = opts.realtime
        self.scene = DemoScene(width, height, loop)
        frame_bytes = width * height * 5  # color (3) + depth (2)
        self._cache_limit = min(loop, CACHE_BYTES // frame_bytes)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()
        self._info = SourceInfo(
            kind="demo",
            description=f"demo room (synthetic), {width}x{height}, {loop}-frame loop",
            width=width,
            height=height,
            fps=self._fps,
            live=bool(opts.realtime),  # paced like a camera: a slow consumer drops frames
            clock="none",
        )

    @property
    def info(self) -> SourceInfo:
        return self._info

    def _start(self) -> None:
        pass

    def _stop(self) -> None:
        pass

    def image(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(color, depth) of frame `index`, rendered once per loop position and then cached."""
        key = index % self.scene.loop
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        img = self.scene.render(key)
        color, depth = img.color, img.depth
        color.flags.writeable = False
        depth.flags.writeable = False
        with self._lock:
            if len(self._cache) < self._cache_limit:
                self._cache[key] = (color, depth)
        return color, depth

    def frame(self, index: int) -> RGBDFrame:
        """Frame `index` as the stream yields it (random access, for seeking)."""
        color, depth = self.image(index)
        return RGBDFrame(
            color=color,
            depth=depth,
            depth_scale=DEPTH_SCALE,
            intrinsics=self.scene.intrinsics,
            index=index,
            device_ts_ms=index * 1000.0 / self._fps,
            arrived_ns=now_ns(),
        )

    def _frames(self) -> Iterator[SourceItem]:
        t0 = time.monotonic()
        index = 0
        while self._started:
            if self._realtime:
                delay = t0 + index / self._fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self.frame(index)
            index += 1
