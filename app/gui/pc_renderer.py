"""The window's side of 3D rendering: a thread that hands the newest cloud to the Open3D
process (`app.gui.pc_process`) and the picture back to the window.

The window calls `submit` / `set_camera` / `resize` from the GUI thread and never waits:
the thread sends the newest state when the renderer is free (clouds replaced before they
were drawn are counted as dropped) and calls `on_image` with each picture. If the renderer
process cannot start, fails or dies (no EGL/Vulkan driver, Open3D missing), `on_error` gets
one line with the reason and a fix, and the rest of the window keeps running.

On Linux without a GPU driver Open3D 0.20 renders through Mesa's lavapipe (software Vulkan;
Debian/Ubuntu package mesa-vulkan-drivers) with no settings needed.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from app.gui.mailbox import LatestSlot
from app.gui.pc_process import RenderRequest
from app.gui.pointcloud import OrbitCamera, split_points

SERVER = (sys.executable, "-m", "app.gui.pc_process")  # + the socket's descriptor
START_TIMEOUT_S = 120.0  # the first picture: process start, open3d import, renderer creation
RENDER_TIMEOUT_S = 60.0
INSTALL_HINT = (
    "install an offscreen graphics driver (Debian/Ubuntu: sudo apt install mesa-vulkan-drivers) "
    "or run on a machine with a GPU driver"
)


@dataclass(frozen=True)
class CloudImage:
    image: np.ndarray  # uint8 HxWx3 RGB
    points: int
    frame_index: int | None
    render_ms: float
    version: int  # which `submit` call's cloud this is (1, 2, ...)


class CloudRenderer:
    """Owns the renderer process and the thread that talks to it."""

    def __init__(self, on_image: Callable[[CloudImage], None], on_error: Callable[[str], None],
                 point_size: float = 3.0, server: tuple[str, ...] = SERVER) -> None:
        self.on_image = on_image
        self.on_error = on_error
        self.point_size = point_size
        self._server = server  # the renderer process's command (tests pass one that fails)
        self._lock = threading.Lock()
        self._points: np.ndarray | None = None
        self._frame_index: int | None = None
        self._version = 0
        self._rendered_version = 0
        self._camera = OrbitCamera()
        self._size = (480, 360)
        self._wake: LatestSlot[bool] = LatestSlot()
        self._thread = threading.Thread(target=self._run, name="sgnet-pointcloud", daemon=True)
        self._process: subprocess.Popen | None = None
        self._stderr: Any = None
        self.dropped = 0  # clouds replaced before they were rendered
        self.rendered = 0
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def submit(self, points: np.ndarray, frame_index: int | None) -> int:
        """Hand over a new cloud (PLY_DTYPE points); returns its version number."""
        with self._lock:
            if self._version != self._rendered_version:
                self.dropped += 1
            self._points, self._frame_index = points, frame_index
            self._version += 1
            version = self._version
        self._wake.put(True)
        return version

    def set_camera(self, camera: OrbitCamera) -> None:
        with self._lock:
            self._camera = camera
        self._wake.put(True)

    @property
    def camera(self) -> OrbitCamera:
        return self._camera

    def resize(self, width: int, height: int) -> None:
        with self._lock:
            self._size = (max(int(width), 16), max(int(height), 16))
        self._wake.put(True)

    def close(self, timeout_s: float = 5.0) -> None:
        self._wake.close()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        proc = self._process
        if proc is not None and proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(2.0)

    # -- worker thread ------------------------------------------------------------------------
    def _run(self) -> None:
        with tempfile.TemporaryFile() as err:  # the renderer's stderr: its last line explains a crash
            self._stderr = err
            self._talk()

    def _talk(self) -> None:
        mine, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(
                [*self._server, str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
            )
        except OSError as e:
            self._fail(f"cannot start the 3D renderer process ({e})")
            return
        finally:
            theirs.close()
        conn = Connection(mine.detach())
        sent_version = -1
        timeout = START_TIMEOUT_S
        try:
            while not self._wake.closed:
                if self._wake.wait(0.2) is None:
                    continue
                with self._lock:
                    points, index, version = self._points, self._frame_index, self._version
                    camera, size = self._camera, self._size
                if points is None:
                    continue
                xyz = rgb = None
                if version != sent_version:
                    xyz, rgb = split_points(points)
                conn.send(RenderRequest(version, xyz, rgb, size, camera.fov_deg, camera.target, camera.eye(),
                                        camera.up, self.point_size))
                reply = self._receive(conn, timeout)
                if reply is None:
                    return
                if reply[0] == "error":
                    self._fail(f"Open3D cannot render here: {reply[1]}; {INSTALL_HINT}")
                    return
                _, version, image, ms = reply
                sent_version = version
                timeout = RENDER_TIMEOUT_S
                with self._lock:
                    self._rendered_version = version
                self.rendered += 1
                self.on_image(CloudImage(image, int(points.size), index, ms, version))
        except (EOFError, OSError) as e:
            if not self._wake.closed:
                self._fail(self._died(f"{type(e).__name__}: {e}"))
        finally:
            if self._process.poll() is None:
                with contextlib.suppress(OSError):
                    conn.send(None)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(2.0)
            conn.close()

    def _receive(self, conn: Any, timeout_s: float) -> tuple | None:
        """The child's reply; None (after reporting) if it died, timed out or we are closing."""
        waited = 0.0
        while not conn.poll(0.2):
            waited += 0.2
            if self._wake.closed:
                return None
            if self._process.poll() is not None:
                if conn.poll(0):  # it said why before it ended
                    return conn.recv()
                self._fail(self._died(f"exit code {self._process.returncode}"))
                return None
            if waited >= timeout_s:
                self._fail(f"the 3D renderer did not answer within {timeout_s:.0f} s; {INSTALL_HINT}")
                return None
        return conn.recv()

    def _died(self, detail: str) -> str:
        """Why the renderer process ended: its exit and the last line it wrote on stderr."""
        last = ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            lines = [ln.strip() for ln in self._stderr.read().decode(errors="replace").splitlines() if ln.strip()]
            last = f": {lines[-1][:200]}" if lines else ""
        return f"the Open3D renderer process ended ({detail}{last}); {INSTALL_HINT}"

    def _fail(self, message: str) -> None:
        self.error = message
        self.on_error(message)
