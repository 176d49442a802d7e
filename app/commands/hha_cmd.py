"""`sgnet hha SRC DST`: convert a NYUDv2-layout dataset's depth PNGs to HHA PNGs.

Layout (as charlesCXK's RGBD_Semantic_Segmentation_PyTorch): SRC/Depth/*.png, 16-bit depth
in raw units -> DST/HHA/<same name>.png, 8-bit, R,G,B = disparity, height, angle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import typer

from app.commands.common import set_threads
from app.errors import UserError

INTRINSICS_FILE = "intrinsics.json"


@dataclass(frozen=True)
class Camera:
    """Pinhole intrinsics (0-based pixel centres) and the image size they are valid for."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int | None
    height: int | None
    source: str


def choose_camera(src: Path, fx: float | None, fy: float | None, cx: float | None, cy: float | None) -> Camera:
    """--fx/--fy/--cx/--cy (all four) > SRC/intrinsics.json > the NYUv2 colour camera."""
    given = [v is not None for v in (fx, fy, cx, cy)]
    if any(given) and not all(given):
        raise UserError("give all four of --fx, --fy, --cx, --cy (0-based pixel centres), or none")
    if all(given):
        if fx <= 0 or fy <= 0:
            raise UserError(f"--fx and --fy must be positive, got {fx}, {fy}")
        return Camera(fx, fy, cx, cy, None, None, "command line")
    if (src / INTRINSICS_FILE).is_file():
        from sgnet.data.nyudv2 import read_intrinsics_json

        k = read_intrinsics_json(src / INTRINSICS_FILE)
        return Camera(k.fx, k.fy, k.cx, k.cy, k.width, k.height, str(src / INTRINSICS_FILE))
    from hha.camera import NYU_INTRINSICS

    return Camera(*NYU_INTRINSICS, 640, 480, "NYUv2 colour camera (default)")


def list_depth_files(src: Path, depth_dir: str) -> list[Path]:
    if not src.is_dir():
        raise UserError(f"dataset folder {src} does not exist")
    folder = src / depth_dir
    if not folder.is_dir():
        raise UserError(f"no {depth_dir}/ folder in {src}: expected the NYUDv2 layout SRC/{depth_dir}/*.png")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png" and p.is_file())
    if not files:
        raise UserError(f"{folder} holds no .png depth images")
    return files


def hha_command(
    src: Path = typer.Argument(..., help="Dataset folder holding Depth/*.png (16-bit raw depth)."),
    dst: Path = typer.Argument(..., help="Output dataset folder; HHA/*.png is written there (may equal SRC)."),
    depth_scale: float = typer.Option(0.001, "--depth-scale", help="Metres per depth unit (0.001 = millimetres)."),
    fx: float | None = typer.Option(None, "--fx", help="Focal length x in pixels (with --fy --cx --cy)."),
    fy: float | None = typer.Option(None, "--fy", help="Focal length y in pixels."),
    cx: float | None = typer.Option(None, "--cx", help="Principal point x, 0-based pixel centres (OpenCV)."),
    cy: float | None = typer.Option(None, "--cy", help="Principal point y, 0-based pixel centres."),
    depth_dir: str = typer.Option("Depth", "--depth-dir", help="Depth sub-folder of SRC."),
    hha_dir: str = typer.Option("HHA", "--hha-dir", help="Output sub-folder of DST."),
    raw_dir: str | None = typer.Option(
        None,
        "--raw-dir",
        help="Sub-folder of SRC with raw sensor depth of the same names: its zeros are "
        "left out of the normal fits (NYU's filled + raw depth).",
    ),
    device: str = typer.Option("auto", help="auto (CUDA when present), cpu, cuda or cuda:N."),
    gravity_stride: int = typer.Option(2, "--gravity-stride", help="Gravity from every n-th normal; 1 = exact."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo files that already exist in DST."),
    threads: int | None = typer.Option(None, "--threads", help="torch CPU threads (default: torch's choice)."),
) -> None:
    """Convert a dataset's depth maps to HHA images (disparity, height, angle).

    Intrinsics: --fx --fy --cx --cy, else SRC/intrinsics.json ({"width", "height", "fx", "fy",
    "cx", "cy"}, 0-based pixel centres), else the NYUv2 colour camera (640x480). Finished
    files are skipped unless --overwrite. Unreadable files are reported and counted; the run
    goes on and exits with status 1 if any failed.

    Examples:

      sgnet hha data/nyudv2 data/nyudv2

      sgnet hha my_scans out --depth-scale 0.00025 --fx 615.2 --fy 615.4 --cx 318.9 --cy 244.1
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    import hha
    from hha.io import read_depth_png, write_hha_png
    from sgnet.device import resolve_device

    if not (math.isfinite(depth_scale) and depth_scale > 0):
        raise UserError(f"--depth-scale must be a positive number of metres per unit, got {depth_scale}")
    if gravity_stride < 1:
        raise UserError(f"--gravity-stride must be >= 1, got {gravity_stride}")
    set_threads(threads)
    files = list_depth_files(src, depth_dir)
    if raw_dir is not None and not (src / raw_dir).is_dir():
        raise UserError(f"--raw-dir {raw_dir}: no such folder in {src}")
    cam = choose_camera(src, fx, fy, cx, cy)
    dev = resolve_device(device, "--device")
    out_dir = dst / hha_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out_dir}: {e}") from None

    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print(
        f"{len(files)} depth images in {src / depth_dir} -> {out_dir} on {dev}; intrinsics from {cam.source}: "
        f"fx={cam.fx:.3f} fy={cam.fy:.3f} cx={cam.cx:.3f} cy={cam.cy:.3f} (0-based); depth scale {depth_scale} m"
    )
    done = skipped = 0
    failures: list[str] = []
    columns = (TextColumn("HHA"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("hha", total=len(files))
        for path in files:
            target = out_dir / (path.stem + ".png")
            if target.exists() and not overwrite:
                skipped += 1
                progress.advance(task)
                continue
            try:
                depth = read_depth_png(path, depth_scale)
                if cam.width is not None and (depth.shape[1], depth.shape[0]) != (cam.width, cam.height):
                    raise ValueError(
                        f"{path.name} is {depth.shape[1]}x{depth.shape[0]} but the intrinsics ({cam.source}) are "
                        f"for {cam.width}x{cam.height}; pass --fx/--fy/--cx/--cy or an {INTRINSICS_FILE}"
                    )
                mask = None
                if raw_dir is not None:
                    mask = read_depth_png(src / raw_dir / path.name, 1.0) == 0
                    if mask.shape != depth.shape:
                        raise ValueError(f"{path.name}: raw depth is {tuple(mask.shape)}, depth {tuple(depth.shape)}")
                    mask = mask.to(dev)
                img = hha.depth_to_hha(
                    depth.to(dev), (cam.fx, cam.fy, cam.cx, cam.cy), mask, gravity_stride=gravity_stride
                )
                write_hha_png(target, img)
                done += 1
            except (ValueError, TypeError, OSError) as e:
                msg = str(e) if path.name in str(e) else f"{path.name}: {e}"
                failures.append(msg)
                console.print(f"[red]failed[/red] {escape(msg)}")
            progress.advance(task)
    console.print(f"converted {done}, skipped {skipped} already done, failed {len(failures)}")
    if failures:
        raise typer.Exit(1)
