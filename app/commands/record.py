"""`sgnet record OUT.db3`: record a live RealSense camera (depth + color) for later replay.

librealsense 2.58+ writes ROS2 `.db3` recordings only. Frames go to a hidden
`.OUT.partial.db3` that is renamed when the recorder closes, so OUT.db3 is always a
complete recording; Ctrl-C stops cleanly.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
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


def record_camera(
    out: Path,
    device: Any,
    width: int,
    height: int,
    fps: int,
    seconds: float | None = None,
    frames: int | None = None,
    stop: threading.Event | None = None,
    frame_timeout_ms: int = 5000,
) -> int:
    """Record depth + color from `device` into `out` until `seconds`/`frames`/`stop`; returns
    the number of framesets seen. The file appears under its name only once complete."""
    from app.sources.realsense import describe_device, make_config

    stop = stop or threading.Event()
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    pipe, cfg = make_config(device, width, height, fps, record_to=str(partial))
    try:
        pipe.start(cfg)
    except RuntimeError as e:
        raise UserError(f"cannot start {describe_device(device)}: {e} (is another program using it?)") from None
    count = 0
    t0 = time.monotonic()
    error: Exception | None = None
    try:
        while not stop.is_set():
            if frames is not None and count >= frames:
                break
            if seconds is not None and time.monotonic() - t0 >= seconds:
                break
            ok, _ = pipe.try_wait_for_frames(frame_timeout_ms)
            if not ok:
                error = UserError(
                    f"{describe_device(device)} sent no frames for {frame_timeout_ms // 1000} s: check the cable"
                )
                break
            count += 1
    finally:
        pipe.stop()
        del pipe  # the recorder writes the file's end when its device is released
    if count == 0:
        partial.unlink(missing_ok=True)
        raise error or UserError("no frames recorded")
    os.replace(partial, out)
    if error is not None:
        raise UserError(f"{error} (kept the {count} frames recorded before, in {out})")
    return count


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
