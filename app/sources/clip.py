"""Demo clips: a short RGB-D sequence with ground-truth labels in one small zip file.

The embedded demo replays a fly-through rendered by `sgnet synth` (see
scripts/make_demo_clip.py). A librealsense recording of it would be raw frames (~90 MB), and
even lossless PNG of the noisy depth costs ~65 kB a frame because sensor noise does not
compress. So the clip keeps colour as JPEG, labels as 8-bit PNG and depth *clean* as 16-bit
PNG mm (the sensor's holes included, its noise left out: ~25 kB), and `read_clip` adds the
RealSense-like noise of `app.synth.sensor` back, deterministically per frame, so what the
model sees has the statistics it was trained on.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sgnet.frames import Intrinsics

HEADER = "clip.json"
FORMAT = "sgnet-live clip 1"


class ClipError(ValueError):
    """The file is not a readable clip (one line: what is wrong)."""


@dataclass(frozen=True)
class ClipFrame:
    color: np.ndarray  # uint8 HxWx3 RGB
    depth: np.ndarray  # uint16 HxW, depth_scale metres per unit, 0 = none (noisy after read_clip)
    labels: np.ndarray  # uint8 HxW NYU40 ids 1..40, 0 = unlabelled


@dataclass(frozen=True)
class Clip:
    frames: list[ClipFrame]
    intrinsics: Intrinsics
    depth_scale: float
    fps: float
    meta: dict

    def __len__(self) -> int:
        return len(self.frames)


def write_clip(
    path: str | Path,
    frames: Iterable[ClipFrame],
    intrinsics: Intrinsics,
    depth_scale: float = 0.001,
    fps: float = 30.0,
    meta: dict | None = None,
    jpeg_quality: int = 90,
    noise_seed: int | None = 0,
) -> int:
    """Write frames to `path` (atomically: a temporary file renamed at the end); returns the count.

    With `noise_seed` set, frame depths are clean and readers add sensor noise seeded by
    (noise_seed, index); None stores depth as given and readers leave it alone."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for n, f in enumerate(frames, start=1):
                i = n - 1
                ok_c, jpg = cv2.imencode(".jpg", f.color[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
                ok_d, dpng = cv2.imencode(".png", f.depth.astype(np.uint16), [cv2.IMWRITE_PNG_COMPRESSION, 9])
                ok_l, lpng = cv2.imencode(".png", f.labels.astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
                if not (ok_c and ok_d and ok_l):
                    raise OSError(f"OpenCV could not encode frame {i}")
                zf.writestr(f"color/{i:05d}.jpg", jpg.tobytes())
                zf.writestr(f"depth/{i:05d}.png", dpng.tobytes())
                zf.writestr(f"labels/{i:05d}.png", lpng.tobytes())
            header = {
                "format": FORMAT,
                "frames": n,
                "fps": float(fps),
                "depth_scale": float(depth_scale),
                "depth_noise_seed": noise_seed,
                "intrinsics": {
                    "width": intrinsics.width, "height": intrinsics.height,
                    "fx": intrinsics.fx, "fy": intrinsics.fy, "cx": intrinsics.cx, "cy": intrinsics.cy,
                },
                "meta": meta or {},
            }
            zf.writestr(HEADER, json.dumps(header, indent=1) + "\n")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n


def _decode(zf: zipfile.ZipFile, name: str, flags: int) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), flags)
    if img is None:
        raise ClipError(f"{name} in the clip is not a readable image")
    return img


def read_clip(path: str | Path, noise: bool = True) -> Clip:
    """Decode a whole clip into memory (a few hundred frames at 320x240 is ~50 MB);
    `noise=False` returns the stored clean depth."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                header = json.loads(zf.read(HEADER))
            except KeyError:
                raise ClipError(f"{path} has no {HEADER}; it is not a sgnet-live clip") from None
            if header.get("format") != FORMAT:
                raise ClipError(f"{path}: unknown clip format {header.get('format')!r} (expected {FORMAT!r})")
            frames = []
            for i in range(int(header["frames"])):
                color = _decode(zf, f"color/{i:05d}.jpg", cv2.IMREAD_COLOR)[..., ::-1]
                depth = _decode(zf, f"depth/{i:05d}.png", cv2.IMREAD_UNCHANGED)
                labels = _decode(zf, f"labels/{i:05d}.png", cv2.IMREAD_UNCHANGED)
                frames.append(ClipFrame(np.ascontiguousarray(color), depth.astype(np.uint16), labels.astype(np.uint8)))
    except (zipfile.BadZipFile, OSError) as e:
        raise ClipError(f"cannot read the clip {path}: {e}") from None
    if not frames:
        raise ClipError(f"{path} holds no frames")
    intr = Intrinsics(**header["intrinsics"])
    scale = float(header["depth_scale"])
    seed = header.get("depth_noise_seed")
    if noise and seed is not None:
        frames = [_with_sensor_noise(f, intr, scale, int(seed), i) for i, f in enumerate(frames)]
    return Clip(frames, intr, scale, float(header["fps"]), header.get("meta", {}))


def _with_sensor_noise(frame: ClipFrame, intr: Intrinsics, depth_scale: float, seed: int, index: int) -> ClipFrame:
    from app.synth.sensor import noisy_depth_mm

    z = frame.depth.astype(np.float64) * depth_scale
    mm = noisy_depth_mm(z, frame.depth == 0, intr.fx, np.random.default_rng([seed, index]))
    depth = np.round(mm * (0.001 / depth_scale)).astype(np.uint16) if depth_scale != 0.001 else mm
    return ClipFrame(frame.color, depth, frame.labels)


__all__ = ["Clip", "ClipError", "ClipFrame", "read_clip", "write_clip"]
