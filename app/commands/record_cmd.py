"""`sgnet record OUT.db3`: record a live RealSense camera (depth + color) for later replay.

The recording itself is `app.sources.realsense_record.record_camera`; this command checks the
options, finds the camera and turns Ctrl-C / SIGTERM into a clean stop.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer

from app.errors import UserError


def _say(msg: str) -> None:
    sys.stderr.write(f"sgnet record: {msg}\n")
    sys.stderr.flush()


def check_record_output(out: str | os.PathLike) -> Path:
    from app.sinks.base import check_output_file

    p = Path(out).expanduser()
    if p.suffix.lower() != ".db3":
        raise UserError(
            f"recording {p} must end in .db3 (librealsense {_rs_version()} writes ROS2 .db3 recordings)"
        )
    return check_output_file(p, "recording", (".db3",))


def _rs_version() -> str:
    try:
        from importlib.metadata import version

        return version("pyrealsense2")
    except Exception:  # noqa: BLE001 - only for a message
        return "2.58+"


def record(
    out: str = typer.Argument(..., help="Output recording, OUT.db3."),
    serial: str | None = typer.Option(None, "--serial", help="Camera serial number (default: the first camera)."),
    width: int = typer.Option(640, "--width", help="Frame width for depth and color."),
    height: int = typer.Option(480, "--height", help="Frame height for depth and color."),
    fps: int = typer.Option(30, "--fps", help="Frame rate."),
    seconds: float | None = typer.Option(None, "--seconds", help="Stop after this many seconds."),
    frames: int | None = typer.Option(None, "--frames", help="Stop after this many frames."),
) -> None:
    """Record a live RealSense camera (depth + color) to a .db3 file; Ctrl-C stops.

    Examples:

    \b
      sgnet record room.db3 --seconds 10
      sgnet record room.db3 --frames 300 --width 848 --height 480 --fps 30
      sgnet-live --camera room.db3 --headless --save-video room.mp4
    """
    if seconds is not None and seconds <= 0:
        raise UserError(f"--seconds must be positive, got {seconds}")
    if frames is not None and frames < 1:
        raise UserError(f"--frames must be at least 1, got {frames}")
    path = check_record_output(out)
    from app.sources.realsense import describe_device, find_device
    from app.sources.realsense_record import record_camera
    from app.sources.rs_frames import rs_module

    ctx = rs_module().context()  # must outlive the device
    device = find_device(serial, ctx, no_camera="no Intel RealSense camera found: plug one in (USB 3) to record")
    stop = threading.Event()

    def on_signal(_sig: int, _frame: Any) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        _say(f"recording {describe_device(device)} at {width}x{height} @ {fps} FPS to {path} (Ctrl-C stops)")
        n = record_camera(path, device, width, height, fps, seconds, frames, stop)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    _say(f"wrote {n} frames to {path}")
    del device, ctx
