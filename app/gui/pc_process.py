"""The Open3D renderer's own process: clouds and camera poses in, pictures out.

Open3D's `OffscreenRenderer.render_to_image` holds Python's GIL for the whole frame (tens to
hundreds of milliseconds on a software Vulkan driver), which would freeze the window and
the inference loop; a machine without any usable driver can even abort the process. So
rendering runs in a child process (`python -m app.gui.pc_process FD`, importing only numpy
and open3d) and the window's `CloudRenderer` thread talks to it over a socket pair
(`multiprocessing.connection.Connection` on the inherited descriptor FD).

Messages, parent -> child: `RenderRequest`, or None to exit.
Child -> parent: ("image", version, uint8 HxWx3, render_ms) or ("error", one line).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

BACKGROUND = (0.0, 0.0, 0.0, 1.0)  # without post-processing Filament clears to black anyway
NEAR_M, FAR_M = 0.05, 100.0
FRUSTUM_DEPTH_M = 0.35


@dataclass(frozen=True)
class RenderRequest:
    version: int  # which cloud (the parent counts them)
    xyz: np.ndarray | None  # (N, 3) float32 metres, camera frame; None = the previous cloud
    rgb: np.ndarray | None  # (N, 3) uint8
    size: tuple[int, int]  # width, height
    fov_deg: float
    target: tuple[float, float, float]
    eye: tuple[float, float, float]
    up: tuple[float, float, float]
    point_size: float


def serve(conn: Any) -> None:
    """Child process main loop."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # Filament prints a start-up banner on stdout: keep it off the terminal
    try:
        import open3d as o3d

        o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
    except Exception as e:  # noqa: BLE001 - reported to the window
        conn.send(("error", f"cannot import open3d ({type(e).__name__}: {e}); pip install open3d"))
        return
    renderer: Any = None
    size: tuple[int, int] | None = None
    cloud: Any = None
    while True:
        try:
            req = conn.recv()
        except EOFError:
            return
        if req is None:
            return
        try:
            t0 = time.perf_counter()
            if req.xyz is not None:
                cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(req.xyz.astype(np.float64)))
                cloud.colors = o3d.utility.Vector3dVector(req.rgb.astype(np.float64) / 255.0)
            if renderer is None or req.size != size:
                renderer = None  # release the old renderer before making one of the new size
                renderer, size = _make_renderer(o3d, *req.size), req.size
                if cloud is not None:
                    _set_cloud(o3d, renderer, cloud, req.point_size)
            elif req.xyz is not None:
                _set_cloud(o3d, renderer, cloud, req.point_size)
            _place_camera(o3d, renderer, req)
            image = np.ascontiguousarray(np.asarray(renderer.render_to_image()))
            conn.send(("image", req.version, image, (time.perf_counter() - t0) * 1000.0))
        except Exception as e:  # noqa: BLE001 - reported to the window, which shows it in the panel
            conn.send(("error", f"{type(e).__name__}: {e}"))
            return


def _make_renderer(o3d: Any, width: int, height: int) -> Any:
    r = o3d.visualization.rendering.OffscreenRenderer(width, height)
    r.scene.set_background(list(BACKGROUND))
    r.scene.view.set_post_processing(False)  # no tone mapping: points keep the palette's exact colors
    line = o3d.visualization.rendering.MaterialRecord()
    line.shader = "unlitLine"
    line.line_width = 1.5
    r.scene.add_geometry("sensor", _frustum(o3d), line)
    return r


def _set_cloud(o3d: Any, renderer: Any, cloud: Any, point_size: float) -> None:
    mat = o3d.visualization.rendering.MaterialRecord()
    mat.shader = "defaultUnlit"
    mat.point_size = point_size
    if renderer.scene.has_geometry("cloud"):
        renderer.scene.remove_geometry("cloud")
    renderer.scene.add_geometry("cloud", cloud, mat)


def _place_camera(o3d: Any, renderer: Any, req: RenderRequest) -> None:
    cam = renderer.scene.camera
    w, h = req.size
    cam.set_projection(req.fov_deg, w / h, NEAR_M, FAR_M, o3d.visualization.rendering.Camera.FovType.Vertical)
    cam.look_at(list(req.target), list(req.eye), list(req.up))


def _frustum(o3d: Any) -> Any:
    """The sensor as a small wireframe pyramid at the origin, so the viewer sees where it was."""
    d = FRUSTUM_DEPTH_M
    w, h = 0.6 * d, 0.45 * d
    pts = [[0, 0, 0], [-w, -h, d], [w, -h, d], [w, h, d], [-w, h, d]]
    lines = [[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 3], [3, 4], [4, 1]]
    ls = o3d.geometry.LineSet(o3d.utility.Vector3dVector(pts), o3d.utility.Vector2iVector(lines))
    ls.colors = o3d.utility.Vector3dVector([[0.95, 0.95, 0.95]] * len(lines))
    return ls


def main(argv: list[str]) -> None:
    from multiprocessing.connection import Connection

    serve(Connection(int(argv[1])))


if __name__ == "__main__":
    main(sys.argv)
