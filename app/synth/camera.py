"""Camera poses: a hand-held RGB-D camera 1-1.8 m above the floor, looking into the room.

Camera frame as in librealsense/OpenCV: x right, y down, z forward (the optical axis).
Poses are sampled where a person could stand (not inside furniture, away from walls),
aimed at furniture with some jitter, and rejected when the view is blocked. A fly-through
is a smooth Catmull-Rom path through a few such poses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sgnet.frames import Intrinsics

DEFAULT_HFOV_DEG = 62.0  # close to the NYUv2 Kinect colour camera (fx ~ 519 at 640 px)


@dataclass(frozen=True)
class CameraPose:
    """Position (m) and heading: yaw about z (0 = looking along +x), pitch (+ = up), roll, in radians."""

    position: tuple[float, float, float]
    yaw: float
    pitch: float
    roll: float = 0.0

    def rotation(self) -> np.ndarray:
        """3x3 camera-to-world rotation; columns are the camera's right, down and forward axes."""
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        forward = np.array([cy * cp, sy * cp, sp])
        right = np.array([sy, -cy, 0.0])
        down = np.cross(forward, right)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        r2 = cr * right + sr * down
        d2 = -sr * right + cr * down
        return np.stack([r2, d2, forward], axis=1)

    def as_dict(self) -> dict:
        return {
            "position": [round(float(v), 5) for v in self.position],
            "yaw": round(self.yaw, 6),
            "pitch": round(self.pitch, 6),
            "roll": round(self.roll, 6),
        }


def make_intrinsics(width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> Intrinsics:
    """Square pixels, principal point at the image centre (0-based pixel centres)."""
    fx = width / (2.0 * math.tan(math.radians(hfov_deg) / 2))
    return Intrinsics(width=int(width), height=int(height), fx=fx, fy=fx, cx=(width - 1) / 2.0, cy=(height - 1) / 2.0)


def camera_rays(intr: Intrinsics) -> np.ndarray:
    """(H, W, 3) ray directions in the camera frame with z = 1, so a hit's t is its depth along the axis."""
    u = (np.arange(intr.width, dtype=np.float64) - intr.cx) / intr.fx
    v = (np.arange(intr.height, dtype=np.float64) - intr.cy) / intr.fy
    uu, vv = np.meshgrid(u, v)
    return np.stack([uu, vv, np.ones_like(uu)], axis=-1)


def look_at(position, target, roll: float = 0.0) -> CameraPose:
    d = np.asarray(target, float) - np.asarray(position, float)
    yaw = math.atan2(d[1], d[0])
    pitch = math.atan2(d[2], math.hypot(d[0], d[1]))
    return CameraPose(tuple(float(v) for v in position), yaw, pitch, roll)


# A probe answers, for a pose, depths (m) on a coarse grid of rays (inf where nothing was hit).
Probe = Callable[[CameraPose], np.ndarray]


def _room_scale(room) -> float:
    """The room's smaller side (m): small rooms (bathrooms) allow closer views."""
    ext = room.polygon.max(axis=0) - room.polygon.min(axis=0)
    return float(ext.min())


def _room_view_clearance(room) -> float:
    """How far from walls and furniture a room view stands (m): less in small rooms."""
    return min(0.35, 0.15 * _room_scale(room))


def _room_view_min_median(room) -> float:
    """The least median depth (m) of an unblocked room view: less in small rooms."""
    return min(1.1, 0.45 * _room_scale(room))


def _view_score(depths: np.ndarray, min_median: float = 1.1) -> float:
    """Higher is better; negative means the view is blocked (a wall or furniture right in front)."""
    d = depths[np.isfinite(depths)]
    if d.size < depths.size * 0.9:
        return -1.0
    near = float(np.mean(d < 0.6))
    med = float(np.median(d))
    if near > 0.12 or med < min_median:
        return -1.0
    return min(med, 4.0) - 4 * near


def _free_point(room, rng: np.random.Generator, clearance: float, near_wall: float = 0.0) -> tuple[float, float] | None:
    """Somewhere a person can stand; with probability near_wall, within a metre of a wall
    (people photograph a room from its edges, looking across it)."""
    lay = room.layout
    areas = np.array([(r[2] - r[0]) * (r[3] - r[1]) for r in room.rects])
    for _ in range(50):
        if rng.random() < near_wall:
            wl = lay.walls[int(rng.choice(len(lay.walls), p=_lengths(lay.walls)))]
            p = wl.p0 + wl.direction * rng.uniform(0, wl.length) + wl.n * rng.uniform(clearance, clearance + 0.7)
            x, y = float(p[0]), float(p[1])
        else:
            r = room.rects[int(rng.choice(len(room.rects), p=areas / areas.sum()))]
            x, y = float(rng.uniform(r[0], r[2])), float(rng.uniform(r[1], r[3]))
        if lay.contains_free_point(x, y, 2.3, clearance):
            return x, y
    return None


def _lengths(walls) -> np.ndarray:
    w = np.array([wl.length for wl in walls])
    return w / w.sum()


def _aim(room, rng: np.random.Generator, p: np.ndarray) -> np.ndarray | None:
    """A point to look at: mostly a placed object, sometimes anywhere in the room."""
    for _ in range(20):
        if room.targets and rng.random() < 0.75:
            t = np.array(room.targets[int(rng.integers(len(room.targets)))], float)
            t = t + rng.normal(0, 0.2, 3)
        else:
            r = room.rects[int(rng.integers(len(room.rects)))]
            t = np.array([rng.uniform(r[0], r[2]), rng.uniform(r[1], r[3]), rng.uniform(0.2, 1.3)])
        if math.hypot(t[0] - p[0], t[1] - p[1]) >= min(1.5, 0.5 * _room_scale(room)):
            return t
    return None


def sample_pose(
    room,
    rng: np.random.Generator,
    probe: Probe,
    tries: int = 40,
    candidates: int = 3,
    close_ups: float = 0.0,
    level_views: float = 0.0,
    wall_views: float = 0.0,
) -> CameraPose:
    """A hand-held view: 1-1.8 m high, aimed at furniture with yaw/pitch/roll jitter, view not blocked.

    Of the first `candidates` unblocked views the one that sees deepest into the room wins,
    which favours views across the room over close-ups of a wall. With probability `close_ups`
    the view is a close-up instead (`close_up_pose`): what people photograph most in real
    datasets (a desk, a sink, a shelf from a metre or two). With probability `level_views` a
    room view is held level instead of aimed down at its target (`_levelled`): NYUv2's Kinect
    frames, and cameras on robots, look along the horizon, so they see more wall, ceiling and
    window and less floor. With probability `wall_views` the view frames one flat thing on a wall
    instead (`wall_item_pose`). 0 draws nothing extra, so the renders of a seed stay byte-identical
    to those made before the options existed.
    """
    if close_ups > 0 and rng.random() < close_ups:
        close = close_up_pose(room, rng, probe)
        if close is not None:
            return close
    level = level_views > 0 and rng.random() < level_views
    if wall_views > 0 and rng.random() < wall_views:
        framed = wall_item_pose(room, rng, probe, level)
        if framed is not None:
            return framed
    best, best_score = None, -math.inf
    good = 0
    for _ in range(tries):
        xy = _free_point(room, rng, _room_view_clearance(room), near_wall=0.6)
        if xy is None:
            break
        p = np.array([xy[0], xy[1], rng.uniform(1.0, 1.8)])
        t = _aim(room, rng, p)
        if t is None:
            continue
        pose = _jittered(look_at(p, t), rng)
        if level:
            pose = _levelled(pose, rng)
        score = _view_score(probe(pose), _room_view_min_median(room))
        if score > best_score:
            best, best_score = pose, score
        if score > 0:
            good += 1
            if good >= candidates:
                break
    if best is None:  # a degenerate room: stand in the middle and look along the longest axis
        c = room.polygon.mean(axis=0)
        best = CameraPose((float(c[0]), float(c[1]), 1.4), 0.0, -0.3)
    return best


def _jittered(base: CameraPose, rng: np.random.Generator) -> CameraPose:
    """A hand's yaw, pitch (biased down) and roll jitter around an aimed pose."""
    return CameraPose(
        base.position,
        base.yaw + float(rng.normal(0, 0.12)),
        float(np.clip(base.pitch + rng.normal(-0.05, 0.08), math.radians(-55), math.radians(8))),
        float(np.clip(rng.normal(0, 0.035), -0.1, 0.1)),
    )


def _levelled(pose: CameraPose, rng: np.random.Generator) -> CameraPose:
    """The same view held level: pitch a few degrees either side of the horizon, yaw and roll kept.

    The spread (sd 3 deg, clipped to -10..+12 deg) leaves room for a less careful hand than
    NYUv2's: our gravity estimate puts 24 of real-val's 26 frames within 2.5 deg of level.
    """
    pitch = float(np.clip(rng.normal(0.0, math.radians(3.0)), math.radians(-10), math.radians(12)))
    return CameraPose(pose.position, pose.yaw, pitch, pose.roll)


def wall_item_pose(room, rng: np.random.Generator, probe: Probe, level: bool, tries: int = 30) -> CameraPose | None:
    """A view of one whiteboard, door, window, picture, mirror or cluster of notices (`Room.wall_targets`)
    from 1.3-4 m in front of it, a little to one side, the first that is not blocked; None when the
    room has none or offers no such view.

    NYUv2's photographers framed boards, doors and windows as often as furniture, and these flat
    things sit at the wall's depth, so only colour tells them from it; views aimed at furniture
    rarely show one whole. `level` holds the view level as `_levelled` does.
    """
    if not room.wall_targets:
        return None
    clearance, min_median = _room_view_clearance(room), _room_view_min_median(room)
    for _ in range(tries):
        centre, normal = room.wall_targets[int(rng.integers(len(room.wall_targets)))]
        along = np.array([-normal[1], normal[0]])
        xy = centre[:2] + normal[:2] * rng.uniform(1.3, 4.0) + along * rng.normal(0.0, 0.7)
        if not room.layout.contains_free_point(float(xy[0]), float(xy[1]), 2.3, clearance):
            continue
        target = centre + np.array([*(along * rng.normal(0.0, 0.3)), rng.normal(0.0, 0.15)])
        pose = _jittered(look_at(np.array([xy[0], xy[1], rng.uniform(1.1, 1.7)]), target), rng)
        if level:
            pose = _levelled(pose, rng)
        if _view_score(probe(pose), min_median) > 0:
            return pose
    return None


def close_up_pose(room, rng: np.random.Generator, probe: Probe, tries: int = 30) -> CameraPose | None:
    """A view of one placed object from 0.7-2.2 m (standing, 1-1.7 m high), the first that is not
    blocked; None when the room offers none (the caller falls back to a room view)."""
    if not room.targets:
        return None
    for _ in range(tries):
        t = np.array(room.targets[int(rng.integers(len(room.targets)))], float) + rng.normal(0, 0.12, 3)
        xy = _free_point(room, rng, min(0.3, 0.15 * _room_scale(room)), near_wall=0.3)
        if xy is None:
            return None
        dist = math.hypot(t[0] - xy[0], t[1] - xy[1])
        if not 0.7 <= dist <= 2.2:
            continue
        pose = _jittered(look_at(np.array([xy[0], xy[1], rng.uniform(1.0, 1.7)]), t), rng)
        if _view_score(probe(pose), 0.6) > 0:
            return pose
    return None


def _catmull_rom(points: np.ndarray, n: int) -> np.ndarray:
    """n samples of a centripetal-free (uniform) Catmull-Rom spline through points (K, D), K >= 2."""
    p = np.concatenate([points[:1] * 2 - points[1:2], points, points[-1:] * 2 - points[-2:-1]], axis=0)
    k = len(points)
    s = np.linspace(0.0, k - 1, n)
    i = np.minimum(s.astype(int), k - 2)
    t = (s - i)[:, None]
    p0, p1, p2, p3 = p[i], p[i + 1], p[i + 2], p[i + 3]
    return 0.5 * (
        (2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
    )


def fly_through(room, n: int, rng: np.random.Generator, probe: Probe, tries: int = 25) -> list[CameraPose]:
    """n poses along a smooth walk through the room (a slow pan in place when no walk fits)."""
    lay = room.layout
    k = int(np.clip(math.ceil(n / 45) + 1, 2, 6))
    step = float(np.clip(n / 45 * 0.8, 0.3, 1.4))
    for _ in range(tries):
        start = sample_pose(room, rng, probe, tries=10)
        pts = [np.array(start.position)]
        fwd = [_forward(start)]
        ok = True
        for _j in range(k - 1):
            for _attempt in range(15):
                a = rng.uniform(0, 2 * math.pi)
                q = pts[-1] + np.array([math.cos(a), math.sin(a), 0.0]) * rng.uniform(0.5, 1.0) * step
                q[2] = float(np.clip(pts[-1][2] + rng.normal(0, 0.1), 1.0, 1.8))
                if not _segment_free(lay, pts[-1], q):
                    continue
                t = _aim(room, rng, q)
                if t is None:
                    continue
                f = t - q
                f /= np.linalg.norm(f)
                if float(np.dot(f[:2], fwd[-1][:2])) < math.cos(math.radians(100)):
                    continue
                pts.append(q)
                fwd.append(f)
                break
            else:
                ok = False
                break
        if not ok:
            continue
        path = _catmull_rom(np.array(pts), n)
        dirs = _catmull_rom(np.array(fwd), n)
        if not all(lay.contains_free_point(float(x), float(y), 2.0, 0.25) for x, y, _z in path):
            continue
        poses = []
        for i, (pos, d) in enumerate(zip(path, dirs, strict=True)):
            d = d / max(np.linalg.norm(d), 1e-9)
            pitch = float(np.clip(math.asin(np.clip(d[2], -1, 1)), math.radians(-55), math.radians(8)))
            roll = 0.03 * math.sin(2 * math.pi * i / max(n, 2) * 1.3)
            poses.append(CameraPose(tuple(float(v) for v in pos), math.atan2(d[1], d[0]), pitch, roll))
        return poses
    # fallback: pan in place from a free spot
    start = sample_pose(room, rng, probe)
    sweep = rng.uniform(math.pi / 2, 2 * math.pi) * (1 if rng.random() < 0.5 else -1)
    out = []
    for i in range(n):
        s = 0.5 - 0.5 * math.cos(math.pi * i / max(n - 1, 1))
        out.append(
            CameraPose(start.position, start.yaw + sweep * s, start.pitch + 0.1 * math.sin(2 * math.pi * s), 0.0)
        )
    return out


def _forward(p: CameraPose) -> np.ndarray:
    return p.rotation()[:, 2]


def _segment_free(lay, a: np.ndarray, b: np.ndarray) -> bool:
    for s in np.linspace(0.0, 1.0, 12):
        q = a + (b - a) * s
        if not lay.contains_free_point(float(q[0]), float(q[1]), 2.0, 0.3):
            return False
    return True
