"""Per-frame ground truth of a rendered recording: `REC.labels/` beside `REC.db3`.

`sgnet synth --recording REC.db3` renders every frame, so it knows what each pixel is and where
the camera stood. Video mode (docs/video.md) is measured against exactly that, so the labels
are written in the format `sgnet-live --save-labels` writes: `REC.labels/NNNNNN.png`, one 8-bit
single-channel PNG per frame, 0-based NYUv2-40 class ids and 255 where nothing is labelled, named
by the frame index a replay gives the frame (the latency log's `index`), so a prediction and its
truth pair by name and compare with `==`. `REC.labels/truth.json` holds the camera poses
(camera-to-world 4x4, camera axes x right, y down, z forward: OpenCV's), the intrinsics and the
depth units, for checking a reprojection against the true motion.

The folder is written under a hidden partial name and renamed when complete, so a folder named
`REC.labels` is always whole.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.files import partial_path, write_text_atomic
from sgnet.frames import NO_PREDICTION, Intrinsics

TRUTH_FILE = "truth.json"


def truth_folder(recording: str | Path) -> Path:
    """Where the ground truth of `recording` lives: `REC.db3` -> `REC.labels`."""
    return Path(recording).with_suffix(".labels")


def nyu40_to_ids(labels: np.ndarray) -> np.ndarray:
    """Rendered NYU40 ids (1..40, 0 = unlabelled) -> 0-based ids with 255 = unlabelled (the
    `--save-labels` convention)."""
    out = labels.astype(np.int16) - 1
    return np.where(out < 0, NO_PREDICTION, out).astype(np.uint8)


def pose_matrix(pose) -> np.ndarray:
    """`CameraPose` -> camera-to-world 4x4 (columns of the rotation: right, down, forward)."""
    m = np.eye(4)
    m[:3, :3] = pose.rotation()
    m[:3, 3] = pose.position
    return m


class TruthWriter:
    """`with TruthWriter(folder, intr, depth_units) as t: t.write(index, labels, pose)`; the folder
    appears under its name only when the block ends without an error (an old one is replaced)."""

    def __init__(self, folder: str | Path, intrinsics: Intrinsics, depth_units: float = 0.001) -> None:
        self.folder = Path(folder)
        self.tmp = partial_path(self.folder)
        self.intr = intrinsics
        self.depth_units = float(depth_units)
        self.poses: list[list[list[float]]] = []

    def __enter__(self) -> TruthWriter:
        self.tmp.mkdir(parents=False)
        return self

    def write(self, labels: np.ndarray, pose) -> None:
        """The next frame's rendered NYU40 labels (uint8 HxW) and `CameraPose`."""
        from app.sinks.labels import write_label_png

        write_label_png(self.tmp / f"{len(self.poses):06d}.png", nyu40_to_ids(labels))
        self.poses.append(np.round(pose_matrix(pose), 7).tolist())

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        i = self.intr
        meta = {
            "format": "NNNNNN.png: uint8 0-based NYUv2-40 class ids, 255 = unlabelled; index = replay frame index",
            "classes": "nyu40",
            "frames": len(self.poses),
            "intrinsics": {"width": i.width, "height": i.height, "fx": i.fx, "fy": i.fy, "cx": i.cx, "cy": i.cy},
            "depth_units": self.depth_units,
            "pose_convention": "camera-to-world 4x4; camera x right, y down, z forward (OpenCV)",
            "poses": self.poses,
        }
        try:
            write_text_atomic(self.tmp / TRUTH_FILE, json.dumps(meta) + "\n")
            if self.folder.exists():
                shutil.rmtree(self.folder)
            self.tmp.rename(self.folder)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise


@dataclass(frozen=True)
class Truth:
    """A recording's ground truth as read back: the folder, its intrinsics and camera-to-world poses."""

    folder: Path
    intrinsics: Intrinsics
    poses: np.ndarray  # N x 4 x 4 float64

    def labels(self, index: int) -> np.ndarray | None:
        """uint8 HxW ids of frame `index`, None when the folder has no such frame."""
        import cv2

        p = self.folder / f"{index:06d}.png"
        return cv2.imread(str(p), cv2.IMREAD_UNCHANGED) if p.is_file() else None


def read_truth(folder: str | Path) -> Truth:
    """Read `REC.labels/truth.json` (ValueError with the reason when it is missing or not ours)."""
    folder = Path(folder)
    path = folder / TRUTH_FILE
    try:
        meta = json.loads(path.read_text())
        intr = Intrinsics(**meta["intrinsics"])
        poses = np.asarray(meta["poses"], dtype=np.float64).reshape(-1, 4, 4)
    except FileNotFoundError:
        raise ValueError(f"{path} not found (ground truth is written by sgnet synth --recording)") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a ground-truth file of sgnet synth ({e})") from None
    return Truth(folder, intr, poses)
