"""Screenshot bundles: for a chosen frame, one folder `frame_NNNNNN/` with

  color.png    the input color image
  overlay.png  class colors blended over it
  labels.png   palette PNG: pixel values are the class ids (255 = no prediction), shown in the class colors
  confidence.png  8-bit grayscale: the winning class's probability x 255 (0 = no prediction); only
               when the result has a confidence (`Segmentation.confidence`)
  depth.png    16-bit depth in raw units (metres = value x depth_scale from meta.json)
  cloud.ply    labeled point cloud (x, y, z metres; class color; `label` property)
  meta.json    frame index, timestamp, depth scale, intrinsics, classes present, and the class set
               (`class_set`: the JSON `assets.classes.get_class_set` reads, names and colors)

Colors and names are the result's own class set (`Segmentation.classes`), so a bundle of a
13-class model is in its 13 colors and says which ids mean what without the weights at hand.

Which frames: every N-th result with `every=N`; with `every=None` only the last result of
the run (written when the sink closes); `request()` asks for the next result (GUI key).

A bundle is written into a hidden partial folder and renamed to `frame_NNNNNN` once every
file in it is complete, so a bundle under its real name is always whole. If a write fails
(disk full, permissions) the partial folder is removed and the sink raises `OutputError`.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np

from app.files import partial_path, why_write_failed
from app.render import legend, overlay
from app.sinks.base import OutputError, Rendered, Sink, counted
from app.sinks.labels import confidence_image
from app.sinks.ply import labeled_points, write_ply
from app.sinks.png import write_indexed_png
from sgnet.frames import Segmentation


def write_bundle(folder: Path, seg: Segmentation, overlay_rgb: np.ndarray) -> Path:
    """Write one screenshot bundle for `seg` as `folder/frame_NNNNNN/` (replacing an older one of
    the same frame); returns that folder. OSError: nothing of this bundle is left behind."""
    out = folder / f"frame_{seg.frame.index:06d}"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(out)
    tmp.mkdir()
    try:
        _write_files(tmp, seg, overlay_rgb)
        _put_in_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_files(out: Path, seg: Segmentation, overlay_rgb: np.ndarray) -> None:
    import cv2

    frame = seg.frame

    def imwrite(name: str, img: np.ndarray) -> None:
        ok, buf = cv2.imencode(".png", img)
        if not ok:
            raise ValueError(f"PNG encoding failed for {name}")
        (out / name).write_bytes(buf.tobytes())

    imwrite("color.png", np.ascontiguousarray(frame.color[:, :, ::-1]))
    imwrite("overlay.png", np.ascontiguousarray(overlay_rgb[:, :, ::-1]))
    imwrite("depth.png", np.ascontiguousarray(frame.depth))
    palette = seg.classes.palette
    write_indexed_png(out / "labels.png", np.ascontiguousarray(seg.labels), palette)
    if seg.confidence is not None:
        imwrite("confidence.png", confidence_image(seg.confidence, seg.labels))
    write_ply(out / "cloud.ply", labeled_points(frame.depth_m(), seg.labels, frame.intrinsics, palette), seg.classes)
    k = frame.intrinsics
    meta = {
        "index": frame.index,
        "device_ts_ms": frame.device_ts_ms,
        "depth_scale": frame.depth_scale,
        "intrinsics": {"width": k.width, "height": k.height, "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy},
        "classes": [
            {"id": e.class_id, "name": e.name, "rgb": list(e.rgb), "share": round(e.share, 6)}
            for e in legend(seg.labels, seg.classes)
        ],
        "no_prediction": 255,
        "keyframe": seg.keyframe,
        "mean_confidence": None if seg.confidence is None else round(float(seg.confidence.mean()), 6),
        "class_set": seg.classes.to_dict(),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def _put_in_place(tmp: Path, out: Path) -> None:
    """Rename the finished bundle `tmp` to `out`; an older bundle there is moved aside first
    (a folder cannot be renamed over a full one) and removed after."""
    old = None
    if out.exists():
        old = partial_path(out)
        os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        if old is not None:
            os.rename(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
        self._failed = ""  # why a bundle could not be written

    def request(self) -> None:
        """Save the next result (thread-safe; for a GUI key)."""
        self._requested.set()

    def write(self, rendered: Rendered) -> None:
        self._seen += 1
        due = self.every is not None and (self._seen - 1) % self.every == 0
        if due or self._requested.is_set():
            self._requested.clear()
            self._save(rendered.seg, rendered.view("overlay"))
            self._last = None
        elif self.every is None:
            self._last = rendered.seg  # rendered only if it is still the last one at close

    def _save(self, seg: Segmentation, overlay_rgb: np.ndarray) -> None:
        try:
            self.written.append(write_bundle(self.folder, seg, overlay_rgb))
        except OSError as e:
            name = f"frame_{seg.frame.index:06d}"
            self._failed = why_write_failed(e)
            raise OutputError(
                f"{why_write_failed(e)} writing the screenshot bundle {self.folder / name}; it was removed "
                f"({counted(len(self.written), 'complete bundle')} kept in {self.folder})"
            ) from None

    def close(self) -> list[str]:
        if self._last is not None:
            seg, self._last = self._last, None
            self._save(seg, overlay(seg.frame.color, seg.labels, classes=seg.classes))
        failed = f"; stopped: {self._failed}" if self._failed else ""
        if not self.written:
            return [f"screenshots: none written ({self._failed})" if self._failed else "screenshots: none (no frames)"]
        return [f"screenshots: {len(self.written)} in {self.folder} (last {self.written[-1].name}{failed})"]
