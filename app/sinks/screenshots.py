"""Screenshot bundles: for a chosen frame, one folder `frame_NNNNNN/` with

  color.png    the input color image
  overlay.png  class colors blended over it
  labels.png   palette PNG: pixel values are the class ids (255 = no prediction), shown in the class colors
  depth.png    16-bit depth in raw units (metres = value x depth_scale from meta.json)
  cloud.ply    labeled point cloud (x, y, z metres; class color; `label` property)
  meta.json    frame index, timestamp, depth scale, intrinsics, classes present

Which frames: every N-th result with `every=N`; with `every=None` only the last result of
the run (written when the sink closes); `request()` asks for the next result (GUI key).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

import assets
from app.render import legend, overlay
from app.sinks.base import Rendered, Sink
from app.sinks.ply import labeled_points, write_ply
from app.sinks.png import write_indexed_png
from sgnet.frames import Segmentation


def write_bundle(folder: Path, seg: Segmentation, overlay_rgb: np.ndarray) -> Path:
    """Write one screenshot bundle for `seg` into `folder/frame_NNNNNN/`; returns that folder."""
    import cv2

    frame = seg.frame
    out = folder / f"frame_{frame.index:06d}"
    out.mkdir(parents=True, exist_ok=True)

    def imwrite(name: str, img: np.ndarray) -> None:
        ok, buf = cv2.imencode(".png", img)
        if not ok:
            raise OSError(f"PNG encoding failed for {name}")
        (out / name).write_bytes(buf.tobytes())

    imwrite("color.png", np.ascontiguousarray(frame.color[:, :, ::-1]))
    imwrite("overlay.png", np.ascontiguousarray(overlay_rgb[:, :, ::-1]))
    imwrite("depth.png", np.ascontiguousarray(frame.depth))
    write_indexed_png(out / "labels.png", np.ascontiguousarray(seg.labels), assets.palette())
    write_ply(out / "cloud.ply", labeled_points(frame.depth_m(), seg.labels, frame.intrinsics, assets.palette()))
    k = frame.intrinsics
    meta = {
        "index": frame.index,
        "device_ts_ms": frame.device_ts_ms,
        "depth_scale": frame.depth_scale,
        "intrinsics": {"width": k.width, "height": k.height, "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy},
        "classes": [{"id": e.class_id, "name": e.name, "share": round(e.share, 6)} for e in legend(seg.labels)],
        "no_prediction": 255,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out


class ScreenshotSink(Sink):
    name = "screenshots"

    def __init__(self, folder: str | os.PathLike, every: int | None = None) -> None:
        if every is not None and every < 1:
            raise ValueError(f"screenshot interval must be >= 1 frame, got {every}")
        self.folder = Path(folder)
        self.every = every
        self.written: list[Path] = []
        self._seen = 0
        self._last: Segmentation | None = None
        self._requested = threading.Event()

    def request(self) -> None:
        """Save the next result (thread-safe; for a GUI key)."""
        self._requested.set()

    def write(self, rendered: Rendered) -> None:
        self._seen += 1
        due = self.every is not None and (self._seen - 1) % self.every == 0
        if due or self._requested.is_set():
            self._requested.clear()
            self.written.append(write_bundle(self.folder, rendered.seg, rendered.view("overlay")))
            self._last = None
        elif self.every is None:
            self._last = rendered.seg  # rendered only if it is still the last one at close

    def close(self) -> list[str]:
        if self._last is not None:
            seg, self._last = self._last, None
            self.written.append(write_bundle(self.folder, seg, overlay(seg.frame.color, seg.labels)))
        if not self.written:
            return ["screenshots: none (no frames)"]
        return [f"screenshots: {len(self.written)} in {self.folder} (last {self.written[-1].name})"]
