"""Data the project ships: NYUv2-40 class names, the palette, demo weights.

Files are found through `importlib.resources`, so they work from a source tree, an editable
install and a wheel alike.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable

import numpy as np

NUM_CLASSES = 40
NO_PREDICTION = 255
_UNUSED_GRAY = (128, 128, 128)


def resource_path(name: str) -> Traversable:
    """A data file shipped in `assets/` (use `.read_bytes()`, or `resources.as_file` for a real path)."""
    return resources.files(__name__) / name


@lru_cache(maxsize=1)
def _nyu40() -> dict:
    return json.loads(resource_path("nyu40.json").read_text(encoding="utf-8"))


def class_names() -> tuple[str, ...]:
    """The 40 NYUv2-40 class names; index = prediction id (NYU40 id - 1)."""
    return tuple(_nyu40()["classes"])


@lru_cache(maxsize=1)
def _palette() -> np.ndarray:
    data = _nyu40()
    pal = np.empty((256, 3), np.uint8)
    pal[:] = _UNUSED_GRAY
    pal[:NUM_CLASSES] = np.asarray(data["colors"], np.uint8)
    pal[NO_PREDICTION] = np.asarray(data["no_prediction_color"], np.uint8)
    pal.flags.writeable = False
    return pal


def palette() -> np.ndarray:
    """uint8 (256, 3) RGB: rows 0..39 the class colors, row 255 "no prediction", the rest gray.

    256 rows so that `palette()[labels]` works for any uint8 label image.
    """
    return _palette()


def nyu40_to_ids(raw: np.ndarray) -> np.ndarray:
    """Stored NYU40 labels (1..40, 0 = unlabelled) -> uint8 prediction ids 0..39, NO_PREDICTION for
    0 and for anything beyond 255 (the official uint8 wrap-around of 0 - 1)."""
    ids = np.asarray(raw).astype(np.int64) - 1
    ids[(ids < 0) | (ids > 254)] = NO_PREDICTION
    return ids.astype(np.uint8)


def colorize(labels: np.ndarray) -> np.ndarray:
    """Label ids (uint8 HxW) -> RGB image (uint8 HxWx3) in the palette's colors."""
    labels = np.asarray(labels)
    if labels.dtype != np.uint8:
        raise TypeError(f"colorize expects uint8 labels, got {labels.dtype}")
    return _palette()[labels]


def class_color(class_id: int) -> tuple[int, int, int]:
    """The RGB color of one class id (or of 255, "no prediction")."""
    if not (0 <= class_id < NUM_CLASSES or class_id == NO_PREDICTION):
        raise ValueError(f"class id must be 0..{NUM_CLASSES - 1} or {NO_PREDICTION}, got {class_id}")
    r, g, b = (int(v) for v in _palette()[class_id])
    return (r, g, b)
