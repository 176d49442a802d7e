"""Labelled recordings for video mode's training and benchmark: replayed frames with their truth.

A recording written by `sgnet synth --recording REC.db3` has its ground truth in `REC.labels/`
(`app.synth.truth`). Frames are replayed through the app's own source, so their indices are the
ones `sgnet-live` gives them (the latency log's, the `--save-labels` names) and pair with the
truth's file names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import UserError
from sgnet.frames import RGBDFrame


@dataclass(frozen=True)
class LabelledRecording:
    path: Path
    frames: list[RGBDFrame]
    truth: list[np.ndarray]  # uint8 HxW 0-based ids, 255 = unlabelled, one per frame
    poses: np.ndarray  # N x 4 x 4 camera-to-world


def read_labelled(path: Path, labels: Path | None = None, limit: int | None = None) -> LabelledRecording:
    """Every frame of `path` (up to `limit`) and its truth from `labels` (default: REC.labels beside it)."""
    from app.sources import open_source
    from app.synth.truth import read_truth, truth_folder

    path = Path(path)
    if not path.is_file():
        raise UserError(f"recording not found: {path} (write one with sgnet synth OUT --recording REC.db3)")
    folder = Path(labels) if labels is not None else truth_folder(path)
    try:
        truth = read_truth(folder)
    except ValueError as e:
        raise UserError(f"{e}; pass --labels DIR or render the recording with sgnet synth --recording") from None
    frames: list[RGBDFrame] = []
    with open_source(str(path)) as source:
        for item in source:
            if isinstance(item, RGBDFrame):
                frames.append(item)
            if limit is not None and len(frames) >= limit:
                break
    labels_out = []
    for f in frames:
        lab = truth.labels(f.index)
        if lab is None or lab.shape != f.depth.shape:
            raise UserError(f"{folder} has no ground truth of the frame size for frame {f.index} of {path.name}; "
                            "pass the labels folder written with this recording")
        labels_out.append(lab)
    return LabelledRecording(path, frames, labels_out, truth.poses)
