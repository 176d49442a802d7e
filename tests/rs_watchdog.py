"""A watchdog for the tests that run librealsense in the test process.

librealsense now and then deadlocks in a native call that holds Python's GIL (seen in CI:
`pipeline.start` of a damaged recording, `sensor.open` beside a thread pushing frames). Then no
Python code runs again in that process, so neither pytest-timeout's signal nor its thread can
end the test, and the suite hangs. A small separate process can: each pytest-xdist worker starts
one, tells it a deadline before every such test (through a file) and clears it after; past the
deadline the watchdog kills the worker, pytest-xdist reports the crash and starts a new worker,
and pytest-rerunfailures runs the test again there (the conftest gives every test of these
modules `playback_flaky.retry_lost_frames`). A real regression still fails every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the modules whose tests drive librealsense in-process (software devices, recordings)
LIBREALSENSE_MODULES = frozenset({
    "test_app_cli",
    "test_app_damaged_recordings",
    "test_app_realsense",
    "test_app_sources",
    "test_gui_seek",
    "test_presets_imu",
    "test_source_rosbag",  # writes and plays a librealsense recording for its rs.align reference
    "test_synth_recording",
    "test_video_cli",
})
DEADLINE_S = float(os.environ.get("SGNET_TEST_RS_DEADLINE_S", "45"))  # the slowest takes ~10 s on two busy cores

_WATCHER = r"""
import os, signal, sys, time
pid, path = int(sys.argv[1]), sys.argv[2]
while True:
    time.sleep(1.0)
    try:
        os.kill(pid, 0)
    except OSError:
        break  # the worker is gone
    try:
        deadline = float(open(path).read() or 0)
    except (OSError, ValueError):
        continue
    if deadline and time.time() > deadline:
        sys.stderr.write(f"rs_watchdog: test past its deadline in worker {pid}: killing it\n")
        os.kill(pid, signal.SIGKILL)
        break
"""


class Watchdog:
    """One per xdist worker: `arm(seconds)` before a test, `disarm()` after."""

    def __init__(self) -> None:
        fd, name = tempfile.mkstemp(prefix="rs_watchdog_", suffix=".deadline")
        os.close(fd)
        self.path = Path(name)
        self.proc = subprocess.Popen([sys.executable, "-c", _WATCHER, str(os.getpid()), str(self.path)])

    def arm(self, seconds: float) -> None:
        self.path.write_text(repr(time.time() + seconds))

    def disarm(self) -> None:
        self.path.write_text("0")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.path.unlink(missing_ok=True)


def uses_librealsense(item) -> bool:
    return Path(str(item.fspath)).stem in LIBREALSENSE_MODULES
