"""`sgnet synth`: render synthetic furnished rooms into a NYUDv2-style dataset (and a recording)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from app.commands.common import parse_hw
from app.errors import UserError

MIN_SIDE, MAX_SIDE = 16, 4096


def _check_writable_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a folder; pass a folder for the dataset")
    parent = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to {parent}; choose an output folder you can write to")


def synth(
    out: Path = typer.Argument(
        ..., help="Output folder: RGB/, Depth/, Label/, train.txt, test.txt, intrinsics.json, synth.json."
    ),
    frames: int = typer.Option(
        100, "--frames", "-n", help="Number of dataset frames (and of recording frames unless --recording-frames)."
    ),
    size: str = typer.Option("480x640", "--size", help="Image size HEIGHTxWIDTH."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives byte-identical files."),
    recording: Path | None = typer.Option(
        None, "--recording", help="Also write a fly-through as a librealsense recording (.db3)."
    ),
    recording_frames: int | None = typer.Option(
        None, "--recording-frames", help="Frames in the recording (default: --frames)."
    ),
    test_fraction: float = typer.Option(
        0.2, "--test-fraction", help="Share of rooms held out for test.txt (whole rooms)."
    ),
    rooms: int | None = typer.Option(None, "--rooms", help="Number of distinct rooms (default: one per 5 frames)."),
    room_types: str | None = typer.Option(
        None,
        "--room-types",
        help="Comma list of room types to draw from: bedroom,living,office,kitchen,classroom,bathroom.",
    ),
    close_ups: float = typer.Option(
        0.0, "--close-ups", help="Share of frames (0-1) that look at one object from 0.7-2.2 m instead of across "
        "the room, as many real datasets' frames do.",
    ),
    level_views: float = typer.Option(
        0.0, "--level-views", help="Share of room views (0-1) held level, as NYUv2's hand-held Kinect and robot "
        "cameras look, instead of aimed down at furniture: more wall, ceiling and window, less floor.",
    ),
    wall_views: float = typer.Option(
        0.0, "--wall-views", help="Share of frames (0-1) that frame one whiteboard, door, window, picture, mirror "
        "or cluster of notices from 1.3-4 m, as NYUv2's photographers often did (held level with --level-views).",
    ),
    props: bool = typer.Option(
        False, "--props", help="Everyday clutter on desks, counters and floors (keyboards, PC towers, printers, "
        "microwaves, kettles, paper, bins, clothes), added to the same rooms.",
    ),
    props_density: float = typer.Option(
        1.0, "--props-density", help="With --props: how much clutter, 1-3 (2: about twice the props on every "
        "surface and floor, nearer NYUv2's offices).",
    ),
    wall_clutter: bool = typer.Option(
        False, "--wall-clutter", help="Large used whiteboards and pinned-up notices on the walls (offices and "
        "classrooms most), added to the same rooms.",
    ),
    glazing: bool = typer.Option(
        False, "--glazing", help="Windows that show a street, trees or a white sky, framed glass walls (offices "
        "and classrooms most) and wood-veneer doors with a glass vision panel, added to the same rooms.",
    ),
    real_materials: bool = typer.Option(
        False, "--real-materials", help="Furniture, walls and floors in everyday finishes (wood, white and grey "
        "laminate, black, muted fabrics and leather, pale paint, planks, carpet) instead of the random pool's "
        "stripes and checks. The same rooms, poses and labels; props, pictures and screens unchanged.",
    ),
    photo_look: bool = typer.Option(
        False, "--photo-look", help="Colour closer to a photograph: 2x2 supersampled (anti-aliased edges and "
        "print), the lamps' glare on whiteboards, screens and varnish, writing as lines of text. The same rooms, "
        "poses and labels; about 3x the render time.",
    ),
    workers: int = typer.Option(1, "--workers", "-j", help="Render rooms in this many processes."),
    montage: Path | None = typer.Option(
        None, "--montage", help="Also write a PNG contact sheet (colour | depth | labels) of one frame per room."
    ),
    montage_rows: int = typer.Option(6, "--montage-rows", help="Rows (rooms) in the --montage sheet."),
    montage_scale: float = typer.Option(
        1.0, "--montage-scale", help="Scale of the --montage sheet; below 1 also quantises colours (compact previews)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a dataset already in OUT."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Render synthetic furnished indoor rooms (ray-cast on the CPU) as an RGB-D segmentation dataset.

    Rooms (rectangular or L-shaped bedrooms, living rooms, offices, kitchens, classrooms and
    bathrooms) are furnished with composite furniture, textured procedurally, lit by point
    lights with cast shadows, and seen by a hand-held RealSense-like camera: noisy depth with
    holes, mildly noisy colour, labels in the NYUv2-40 classes. The split is by room.

    Examples:

      sgnet synth data/synth --frames 1000 --size 240x320 --seed 0

      sgnet synth data/synth_small -n 50 --size 120x160 --rooms 10 --test-fraction 0.2

      sgnet synth data/demo -n 20 --recording demo.db3 --recording-frames 150
    """
    from app.cli_common import package_version
    from app.synth.rooms import ROOM_TYPES
    from app.synth.truth import truth_folder

    height, width = parse_hw(size, "--size", MIN_SIDE, MAX_SIDE)
    if frames < 1:
        raise UserError(f"--frames must be at least 1, got {frames}")
    if rooms is not None and not 1 <= rooms <= frames:
        raise UserError(f"--rooms must be between 1 and --frames ({frames}), got {rooms}")
    if not 0.0 <= test_fraction < 1.0:
        raise UserError(f"--test-fraction must be at least 0 and below 1, got {test_fraction}")
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    if not 0.0 <= close_ups <= 1.0:
        raise UserError(f"--close-ups must be a share between 0 and 1, got {close_ups}")
    if not 0.0 <= level_views <= 1.0:
        raise UserError(f"--level-views must be a share between 0 and 1, got {level_views}")
    if not 0.0 <= wall_views <= 1.0:
        raise UserError(f"--wall-views must be a share between 0 and 1, got {wall_views}")
    if not 1.0 <= props_density <= 3.0:
        raise UserError(f"--props-density must be between 1 and 3, got {props_density}")
    if props_density != 1.0 and not props:
        raise UserError("--props-density needs --props (it scales the props that --props adds)")
    kinds = ROOM_TYPES
    if room_types:
        kinds = tuple(k.strip() for k in room_types.split(",") if k.strip())
        bad = [k for k in kinds if k not in ROOM_TYPES]
        if bad or not kinds:
            raise UserError(f"--room-types: unknown {', '.join(bad) or '(empty)'}; choose from {','.join(ROOM_TYPES)}")
    if recording is not None:
        if recording.suffix.lower() != ".db3":
            raise UserError(f"--recording must name a .db3 file (librealsense 2.56+ writes ROS2 bags), got {recording}")
        if recording.exists() and not overwrite:
            raise UserError(f"{recording} already exists; remove it or pass --overwrite")
        if truth_folder(recording).exists() and not overwrite:
            raise UserError(f"{truth_folder(recording)} (the recording's ground truth) already exists; remove it or "
                            "pass --overwrite")
        rdir = recording.parent if str(recording.parent) else Path(".")
        if not rdir.is_dir() or not os.access(rdir, os.W_OK):
            raise UserError(f"cannot write the recording into {rdir}; create the folder or choose another path")
    if montage is not None and montage.suffix.lower() != ".png":
        raise UserError(f"--montage must name a .png file, got {montage}")
    if montage_rows < 1:
        raise UserError(f"--montage-rows must be at least 1, got {montage_rows}")
    if not 0.05 <= montage_scale <= 4.0:
        raise UserError(f"--montage-scale must be between 0.05 and 4, got {montage_scale}")
    if recording_frames is not None and recording_frames < 1:
        raise UserError(f"--recording-frames must be at least 1, got {recording_frames}")
    _check_writable_dir(out)

    from app.synth.dataset import SynthConfig, prepare_output

    cfg = SynthConfig(
        out=out,
        frames=frames,
        height=height,
        width=width,
        seed=seed,
        rooms=rooms,
        test_fraction=test_fraction,
        room_types=kinds,
        close_ups=close_ups,
        level_views=level_views,
        wall_views=wall_views,
        props=props,
        props_density=props_density,
        wall_clutter=wall_clutter,
        glazing=glazing,
        real_materials=real_materials,
        photo_look=photo_look,
    )
    try:
        prepare_output(out, overwrite)
    except FileExistsError as e:
        raise UserError(str(e)) from None
    except OSError as e:
        raise UserError(f"cannot create {out}: {e.strerror or e}; choose an output folder you can write to") from None
    # the canonical command (every setting spelled out) reproduces the dataset; argv is kept as typed
    command = [
        "sgnet",
        "synth",
        str(out),
        "--frames",
        str(frames),
        "--size",
        f"{height}x{width}",
        "--seed",
        str(seed),
        "--rooms",
        str(cfg.n_rooms),
        "--test-fraction",
        repr(test_fraction),
        "--room-types",
        ",".join(kinds),
    ]
    if close_ups:
        command += ["--close-ups", repr(close_ups)]
    if level_views:
        command += ["--level-views", repr(level_views)]
    if wall_views:
        command += ["--wall-views", repr(wall_views)]
    if props:
        command += ["--props"]
    if props_density != 1.0:
        command += ["--props-density", repr(props_density)]
    if wall_clutter:
        command += ["--wall-clutter"]
    if glazing:
        command += ["--glazing"]
    if real_materials:
        command += ["--real-materials"]
    if photo_look:
        command += ["--photo-look"]
    if recording is not None:
        command += ["--recording", str(recording), "--recording-frames", str(recording_frames or frames)]
    _run(cfg, command, package_version(), workers, quiet, recording, recording_frames or frames)
    if montage is not None:
        write_dataset_montage(out, montage, montage_rows, montage_scale)


def write_dataset_montage(out: Path, path: Path, rows: int, scale: float = 1.0) -> None:
    """A contact sheet of the first frame of the first `rows` rooms of the dataset in `out`."""
    import json
    from types import SimpleNamespace

    import cv2

    from app.synth.preview import write_montage

    info = json.loads((out / "synth.json").read_text())
    seen, names = set(), []
    for f in info["frame_info"]:
        if f["room"] not in seen:
            seen.add(f["room"])
            names.append(f["name"])
    frames = []
    for name in names[:rows]:
        frames.append(
            SimpleNamespace(
                color=cv2.imread(str(out / "RGB" / f"{name}.png"), cv2.IMREAD_COLOR)[..., ::-1],
                depth=cv2.imread(str(out / "Depth" / f"{name}.png"), cv2.IMREAD_UNCHANGED),
                labels=cv2.imread(str(out / "Label" / f"{name}.png"), cv2.IMREAD_UNCHANGED),
            )
        )
    try:
        write_montage(path, frames, scale)
    except OSError as e:
        raise UserError(f"{e}; choose a writable --montage path") from None


def _run(
    cfg, command: list[str], version: str, workers: int, quiet: bool, recording: Path | None, rec_frames: int
) -> None:
    import time

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from app.synth.dataset import make_plan, synthesize

    console = Console(stderr=True, quiet=quiet)
    plan = make_plan(cfg)
    n_test_rooms = len(plan.test_rooms)
    console.print(
        f"[bold]sgnet synth[/]: {cfg.frames} frames of {cfg.height}x{cfg.width} from {plan.n_rooms} rooms "
        f"({plan.n_rooms - n_test_rooms} train, {n_test_rooms} test), seed {cfg.seed} -> {cfg.out}"
    )
    if plan.n_rooms == 1 and cfg.test_fraction > 0:
        console.print("[yellow]note[/]: only one room, so test.txt stays empty (use --rooms 2 or more for a split)")
    columns = (
        SpinnerColumn(),
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("[dim]{task.fields[info]}"),
    )
    t0 = time.perf_counter()
    extra: dict = {}
    with Progress(*columns, console=console, disable=quiet, refresh_per_second=5) as progress:
        task = progress.add_task("rendering", total=cfg.frames, rate="", info="")
        done = [0]

        def on_frame(fp, kind: str) -> None:
            done[0] += 1
            rate = done[0] / max(time.perf_counter() - t0, 1e-9)
            progress.update(task, advance=1, rate=f"{rate:.2f} fr/s", info=f"room {fp.room} ({kind}) {fp.name}")

        if recording is not None:
            extra["recording"] = {"path": str(recording), "frames": rec_frames, "room": plan.n_rooms}
        meta = synthesize(cfg, command, version, workers=workers, on_frame=on_frame, overwrite=True, extra=extra)
        if recording is not None:
            rtask = progress.add_task("recording", total=rec_frames, rate="", info=str(recording))
            matching, read = _write_recording(
                cfg, recording, rec_frames, plan.n_rooms, lambda: progress.update(rtask, advance=1)
            )
    elapsed = time.perf_counter() - t0
    n_classes = len(meta["class_pixels"]) - ("unlabelled" in meta["class_pixels"])
    console.print(
        f"wrote {meta['frames']} frames ({n_classes} classes seen) "
        f"in {meta['render_seconds']:.1f} s ({meta['frames'] / max(meta['render_seconds'], 1e-9):.2f} frames/s)"
    )
    if recording is not None:
        if matching != rec_frames or read != rec_frames:
            raise UserError(
                f"the recording {recording} did not replay intact ({matching} of {rec_frames} frames identical, "
                f"{read} read); check free disk space and rerun"
            )
        console.print(f"recorded {rec_frames} frames to {recording}; replay checked: every frame identical")
        console.print(f"ground truth (labels per frame, camera poses): {recording.with_suffix('.labels')}")
    console.print(f"done in {elapsed:.1f} s")


def _write_recording(cfg, path: Path, n: int, room_index: int, tick) -> tuple[int, int]:
    """The fly-through as a recording, and its ground truth (labels, poses) in REC.labels/."""
    from app.synth.dataset import fly_through_frames
    from app.synth.recording import RecordingWriter, frame_digest, verify_recording
    from app.synth.truth import TruthWriter, truth_folder

    if path.exists():
        path.unlink()
    digests = []
    try:
        with RecordingWriter(path, cfg.intrinsics()) as rec, TruthWriter(truth_folder(path), cfg.intrinsics()) as truth:
            for frame in fly_through_frames(cfg, room_index, n):
                rec.write(frame.color, frame.depth)
                truth.write(frame.labels, frame.pose)
                digests.append(frame_digest(frame.color, frame.depth))
                tick()
    except OSError as e:
        raise UserError(f"cannot write the ground truth {truth_folder(path)}: {e.strerror or e}; "
                        "check the disk space and permissions") from None
    return verify_recording(path, digests)
