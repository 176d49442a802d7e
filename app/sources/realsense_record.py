"""Recording a RealSense camera (depth + color) into a `.db3` file that replays like the camera.

librealsense 2.58+ writes ROS2 `.db3` recordings only. Frames go to a hidden partial file
(`app.files.partial_path`) that is renamed when the recorder has closed it, so the target is
always a complete recording.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.files import partial_path
from app.sources.realsense import describe_device, make_config


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
    stop = stop or threading.Event()
    partial = partial_path(out)
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
