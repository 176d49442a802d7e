"""Open a recording with librealsense in a child process before the app opens it itself.

librealsense hangs on some malformed recordings (a `.db3` without a stream's info or option
records) and has been seen to crash with a segfault on others, inside `load_device`, where
Python cannot catch anything. The index checks (`recording_index`) rule out the cases known
here, but not every damaged file, so the device is loaded once in a child: a crash or a hang
there becomes one line for the user instead of a dead process, and librealsense's own stderr
lines (e.g. rosbag's "invalid TCPROS header ... header.cpp") stay in the child's pipe.

Run as a script (`python -S recording_probe.py FILE SITE_DIR`), it imports nothing but
pyrealsense2 (from SITE_DIR; -S skips the site setup, ~80 ms), so a probe costs about 0.2 s,
most of it loading librealsense; it prints "ok" or "error: <librealsense's message>".
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT_S = 15.0  # loading a good file takes well under a second, even a large one


@dataclass(frozen=True)
class ProbeResult:
    """`problem` is None when librealsense opened the file and listed its streams."""

    problem: str | None
    detail: str = ""  # librealsense's own words (its exception), when it refused the file


def probe(path: str, timeout_s: float | None = None) -> ProbeResult:
    """Load `path` (named so that librealsense picks the right reader) in a child process."""
    import pyrealsense2

    timeout_s = PROBE_TIMEOUT_S if timeout_s is None else timeout_s
    site_dir = str(Path(pyrealsense2.__file__).resolve().parent.parent)
    try:
        r = subprocess.run(
            [sys.executable, "-S", __file__, path, site_dir],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(f"librealsense hung reading it for {timeout_s:.0f} s (the file is damaged)")
    except OSError as e:  # cannot start a process at all: nothing to probe with, open it directly
        return ProbeResult(None, f"probe not run: {e}")
    out = r.stdout.decode("utf-8", "replace").strip().splitlines()
    last = out[-1] if out else ""
    if r.returncode == 0 and last == "ok":
        return ProbeResult(None)
    if last.startswith("error: "):
        return ProbeResult("librealsense cannot open it", last[len("error: "):])
    if r.returncode < 0:
        return ProbeResult(f"librealsense crashed reading it (signal {-r.returncode}; the file is damaged)")
    return ProbeResult(f"librealsense failed reading it (exit status {r.returncode}; the file is damaged)")


def _main(path: str, site_dir: str) -> int:
    sys.path.insert(0, site_dir)
    import pyrealsense2 as rs

    try:
        device = rs.context().load_device(path)
        for sensor in device.query_sensors():
            for p in sensor.get_stream_profiles():
                if p.is_video_stream_profile():
                    p.as_video_stream_profile().get_intrinsics()
    except RuntimeError as e:
        text = str(e).strip().splitlines()
        print(f"error: {text[0] if text else type(e).__name__}", flush=True)
        return 1
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2]))
