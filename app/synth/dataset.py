"""Render a synthetic dataset in the NYUDv2 folder layout the rest of the project reads.

OUT/RGB/<name>.png     8-bit RGB (PNG, lossless, so renders are byte-reproducible)
OUT/Depth/<name>.png   uint16 millimetres, 0 = no depth
OUT/Label/<name>.png   uint8 NYU40 ids 1..40, 0 = unlabelled
OUT/train.txt, OUT/test.txt   names, one per line; split by room
OUT/intrinsics.json    {"width", "height", "fx", "fy", "cx", "cy"} (0-based pixel centres)
OUT/synth.json         command, seed, version, rooms and per-frame room ids and poses

Every room and every frame draws from its own generator seeded by (seed, room, frame), so
the output does not depend on the order of rendering or on the number of worker processes.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.synth.camera import CameraPose, fly_through, make_intrinsics, sample_pose
from app.synth.renderer import PHOTO_LOOK, Look, RoomRenderer
from app.synth.rooms import ROOM_TYPES, Room, generate_room
from app.synth.sensor import camera_color, realsense_depth
from assets import class_names
from sgnet.frames import Intrinsics

SUBDIRS = ("RGB", "Depth", "Label")
DEPTH_SCALE = 0.001  # metres per Depth PNG unit


@dataclass(frozen=True)
class SynthConfig:
    """What to render. rooms=None picks one room per 5 frames."""

    out: Path
    frames: int
    height: int
    width: int
    seed: int = 0
    rooms: int | None = None
    test_fraction: float = 0.2
    room_types: tuple[str, ...] = ROOM_TYPES
    ao_rays: int = 3
    close_ups: float = 0.0  # share of frames that are close-ups of one object (app.synth.camera)
    level_views: float = 0.0  # share of room views held level rather than aimed down (app.synth.camera)
    wall_views: float = 0.0  # share of frames that frame a board, door, window or picture (app.synth.camera)
    props: bool = False  # everyday clutter: keyboards, PCs, printers, microwaves, paper, bins (app.synth.props)
    props_density: float = 1.0  # >1: more of them (app.synth.props.dress_props)
    wall_clutter: bool = False  # used whiteboards and pinned-up notices (app.synth.wall_clutter)
    glazing: bool = False  # outdoor views, glass walls, veneered doors with vision panels (app.synth.glazing)
    real_materials: bool = False  # furniture, walls and floors in everyday finishes (app.synth.real_materials)
    photo_look: bool = False  # supersampled colour, lamp glare, legible writing (app.synth.renderer.PHOTO_LOOK)

    @property
    def n_rooms(self) -> int:
        return self.rooms if self.rooms is not None else max(1, math.ceil(self.frames / 5))

    def intrinsics(self) -> Intrinsics:
        return make_intrinsics(self.width, self.height)

    def look(self) -> Look:
        return PHOTO_LOOK if self.photo_look else Look()

    def room(self, index: int) -> Room:
        """Room `index` of this dataset, with the props and wall clutter asked for."""
        return generate_room(
            self.seed, index, kinds=self.room_types, props=self.props, props_density=self.props_density,
            wall_clutter=self.wall_clutter, glazing=self.glazing, real_materials=self.real_materials,
        )


@dataclass
class SynthFrame:
    """One rendered frame: what the camera delivers plus the ground truth."""

    color: np.ndarray  # uint8 HxWx3 RGB
    depth: np.ndarray  # uint16 HxW millimetres, 0 = none
    labels: np.ndarray  # uint8 HxW NYU40 ids, 0 = unlabelled
    depth_true: np.ndarray  # float32 HxW metres along the optical axis (inf = nothing hit)
    pose: CameraPose


@dataclass(frozen=True)
class FramePlan:
    name: str
    room: int
    shot: int  # index of the frame within its room


@dataclass
class Plan:
    frames: list[FramePlan]
    test_rooms: frozenset[int]
    n_rooms: int

    def split_of(self, room: int) -> str:
        return "test" if room in self.test_rooms else "train"


@dataclass
class RoomResult:
    room: dict
    frames: list[dict] = field(default_factory=list)
    class_pixels: np.ndarray = field(default_factory=lambda: np.zeros(41, np.int64))


def make_plan(cfg: SynthConfig) -> Plan:
    """Frames spread evenly over rooms; a share of whole rooms goes to the test split."""
    r = cfg.n_rooms
    if not 1 <= r <= cfg.frames:
        raise ValueError(f"rooms must be between 1 and the number of frames ({cfg.frames}), got {r}")
    if not 0.0 <= cfg.test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {cfg.test_fraction}")
    frames = []
    for i in range(cfg.frames):
        room, shot = i % r, i // r
        frames.append((room, shot))
    frames.sort()
    plans = [FramePlan(f"{i:06d}", room, shot) for i, (room, shot) in enumerate(frames)]
    n_test = 0
    if cfg.test_fraction > 0 and r >= 2:
        n_test = int(np.clip(round(r * cfg.test_fraction), 1, r - 1))
    order = np.random.default_rng([int(cfg.seed) & 0xFFFFFFFF, 0x5B1177]).permutation(r)
    return Plan(plans, frozenset(int(x) for x in order[:n_test]), r)


def frame_rng(seed: int, room: int, shot: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xF4A3E, int(room), int(shot)])


def render_frame(renderer, room: Room, pose: CameraPose, intr: Intrinsics, rng: np.random.Generator) -> SynthFrame:
    view = renderer.render(pose, intr, rng)
    depth = realsense_depth(view.depth, view.dropout, intr, rng)
    color = camera_color(view.rgb, rng)
    return SynthFrame(color=color, depth=depth, labels=view.labels, depth_true=view.depth, pose=pose)


def render_room_frames(
    cfg: SynthConfig, room_index: int, shots: list[int], nthreads: int = 0
) -> Iterator[tuple[int, SynthFrame, Room]]:
    """Render the given shots of one room (in order)."""
    room = cfg.room(room_index)
    renderer = RoomRenderer(room, ao_rays=cfg.ao_rays, nthreads=nthreads, look=cfg.look())
    intr = cfg.intrinsics()
    for shot in shots:
        rng = frame_rng(cfg.seed, room_index, shot)
        pose = sample_pose(
            room, rng, renderer.probe, close_ups=cfg.close_ups, level_views=cfg.level_views, wall_views=cfg.wall_views
        )
        yield shot, render_frame(renderer, room, pose, intr, rng), room


def write_frame(out: Path, name: str, frame: SynthFrame) -> None:
    import cv2

    for sub, img in (("RGB", frame.color[..., ::-1]), ("Depth", frame.depth), ("Label", frame.labels)):
        path = out / sub / f"{name}.png"
        if not cv2.imwrite(str(path), np.ascontiguousarray(img)):
            raise OSError(f"could not write {path}")


def _render_room_job(
    cfg: SynthConfig,
    room_index: int,
    items: list[FramePlan],
    split: str,
    nthreads: int,
    on_frame: Callable[[FramePlan, str], None] | None = None,
) -> RoomResult:
    by_shot = {p.shot: p for p in items}
    result: RoomResult | None = None
    for shot, frame, room in render_room_frames(cfg, room_index, sorted(by_shot), nthreads):
        if result is None:
            result = RoomResult(room=room.summary() | {"split": split})
        fp = by_shot[shot]
        write_frame(cfg.out, fp.name, frame)
        result.class_pixels += np.bincount(frame.labels.ravel(), minlength=41)[:41]
        result.frames.append(
            {"name": fp.name, "room": room_index, "split": split, "room_type": room.kind, "pose": frame.pose.as_dict()}
        )
        if on_frame is not None:
            on_frame(fp, room.kind)
    assert result is not None
    return result


def _worker(args) -> RoomResult:
    cfg, room_index, items, split = args
    return _render_room_job(cfg, room_index, items, split, nthreads=1)


def prepare_output(out: Path, overwrite: bool) -> None:
    """Create OUT and its sub-folders; refuse to mix with an earlier dataset unless asked to."""
    out.mkdir(parents=True, exist_ok=True)
    existing = [p for p in (out / "synth.json", out / "train.txt", out / "test.txt") if p.exists()]
    existing += [p for sub in SUBDIRS if (out / sub).is_dir() for p in (out / sub).glob("*.png")][:1]
    if existing and not overwrite:
        raise FileExistsError(
            f"{out} already holds a dataset ({existing[0].name}); choose another folder or pass --overwrite"
        )
    for sub in SUBDIRS:
        (out / sub).mkdir(exist_ok=True)
        if overwrite:
            for p in (out / sub).glob("*.png"):
                p.unlink()
    for p in (out / "train.txt", out / "test.txt", out / "synth.json"):
        if overwrite and p.exists():
            p.unlink()


def synthesize(
    cfg: SynthConfig,
    command: list[str],
    version: str,
    workers: int = 1,
    on_frame: Callable[[FramePlan, str], None] | None = None,
    overwrite: bool = False,
    extra: dict | None = None,
) -> dict:
    """Render the whole dataset into cfg.out and write its lists and metadata. Returns synth.json's content."""
    out = cfg.out
    prepare_output(out, overwrite)
    plan = make_plan(cfg)
    by_room: dict[int, list[FramePlan]] = {}
    for fp in plan.frames:
        by_room.setdefault(fp.room, []).append(fp)
    t0 = time.perf_counter()
    results: dict[int, RoomResult] = {}
    completed = True
    try:
        if workers <= 1:
            for room_index in sorted(by_room):
                results[room_index] = _render_room_job(
                    cfg, room_index, by_room[room_index], plan.split_of(room_index), 0, on_frame
                )
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            jobs = [(cfg, r, by_room[r], plan.split_of(r)) for r in sorted(by_room)]
            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
                futures = {pool.submit(_worker, job): job[1] for job in jobs}
                for fut in as_completed(futures):
                    res = fut.result()
                    results[futures[fut]] = res
                    if on_frame is not None:
                        for f in res.frames:
                            on_frame(FramePlan(f["name"], f["room"], 0), f["room_type"])
    except KeyboardInterrupt:
        completed = False
        raise
    finally:
        elapsed = time.perf_counter() - t0
        meta = _write_metadata(cfg, plan, results, command, version, elapsed, completed, extra or {})
    return meta


def _write_metadata(
    cfg: SynthConfig,
    plan: Plan,
    results: dict[int, RoomResult],
    command: list[str],
    version: str,
    elapsed: float,
    completed: bool,
    extra: dict,
) -> dict:
    out = cfg.out
    frames = sorted((f for r in results.values() for f in r.frames), key=lambda f: f["name"])
    train = [f["name"] for f in frames if f["split"] == "train"]
    test = [f["name"] for f in frames if f["split"] == "test"]
    (out / "train.txt").write_text("".join(n + "\n" for n in train))
    (out / "test.txt").write_text("".join(n + "\n" for n in test))
    intr = cfg.intrinsics()
    intr_d = {"width": intr.width, "height": intr.height, "fx": intr.fx, "fy": intr.fy, "cx": intr.cx, "cy": intr.cy}
    (out / "intrinsics.json").write_text(json.dumps(intr_d, indent=2) + "\n")
    pixels = np.zeros(41, np.int64)
    for r in results.values():
        pixels += r.class_pixels
    names = class_names()
    meta = {
        "generator": "sgnet synth",
        "version": version,
        "command": shlex.join(command),
        "argv": list(sys.argv),
        "seed": cfg.seed,
        "complete": completed and len(frames) == cfg.frames,
        "size": {"height": cfg.height, "width": cfg.width},
        "frames": len(frames),
        "rooms": plan.n_rooms,
        "test_fraction": cfg.test_fraction,
        "test_rooms": sorted(plan.test_rooms),
        "room_types": list(cfg.room_types),
        "close_ups": cfg.close_ups,
        "level_views": cfg.level_views,
        "wall_views": cfg.wall_views,
        "props": cfg.props,
        "props_density": cfg.props_density,
        "wall_clutter": cfg.wall_clutter,
        "glazing": cfg.glazing,
        "real_materials": cfg.real_materials,
        "photo_look": cfg.photo_look,
        "formats": {
            "RGB": "png, 8-bit RGB",
            "Depth": "png, uint16 millimetres, 0 = no depth",
            "Label": "png, uint8 NYU40 ids 1..40, 0 = unlabelled",
        },
        "depth_scale": DEPTH_SCALE,
        "intrinsics": intr_d,
        "render_seconds": round(elapsed, 3),
        "class_pixels": {("unlabelled" if i == 0 else names[i - 1]): int(pixels[i]) for i in range(41) if pixels[i]},
        "room_info": [results[r].room | {"room": r} for r in sorted(results)],
        "frame_info": [{"name": f["name"], "room": f["room"], "split": f["split"], "pose": f["pose"]} for f in frames],
    } | extra
    (out / "synth.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def fly_through_frames(cfg: SynthConfig, room_index: int, n: int) -> Iterator[SynthFrame]:
    """n frames along a smooth walk through room `room_index` (for recordings and demos)."""
    room = cfg.room(room_index)
    renderer = RoomRenderer(room, ao_rays=cfg.ao_rays, look=cfg.look())
    intr = cfg.intrinsics()
    poses = fly_through(
        room, n, np.random.default_rng([int(cfg.seed) & 0xFFFFFFFF, 0xF1F1, room_index]), renderer.probe
    )
    for i, pose in enumerate(poses):
        yield render_frame(renderer, room, pose, intr, frame_rng(cfg.seed, room_index, 1_000_000 + i))
