"""Data the project ships: class sets (NYUv2-40, NYUv2-13, SUN RGB-D-37), demo weights, a demo clip.

Files are found through `importlib.resources`, so they work from a source tree, an editable
install and a wheel alike.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

import numpy as np

from assets.classes import (
    ClassSet,
    ClassSetError,
    builtin_class_set,
    default_class_set,
    generic_class_set,
    get_class_set,
)

NUM_CLASSES = 40
NO_PREDICTION = 255

__all__ = [
    "NO_PREDICTION", "NUM_CLASSES", "ClassSet", "ClassSetError", "builtin_class_set", "class_color", "class_names",
    "colorize", "default_class_set", "generic_class_set", "get_class_set", "nyu40", "nyu40_to_ids", "palette",
    "resource_path",
]


def resource_path(name: str) -> Traversable:
    """A data file shipped in `assets/` (use `.read_bytes()`, or `resources.as_file` for a real path)."""
    return resources.files(__name__) / name


def nyu40() -> ClassSet:
    """The NYUv2-40 class set (the official SGNet checkpoints' classes)."""
    return builtin_class_set("nyu40")


def class_names() -> tuple[str, ...]:
    """The 40 NYUv2-40 class names; index = prediction id (NYU40 id - 1)."""
    return nyu40().names


def palette() -> np.ndarray:
    """NYUv2-40's uint8 (256, 3) RGB palette (see `ClassSet.palette`)."""
    return nyu40().palette


def nyu40_to_ids(raw: np.ndarray) -> np.ndarray:
    """Stored NYU40 labels (1..40, 0 = unlabelled) -> uint8 prediction ids 0..39, NO_PREDICTION for
    0 and for anything beyond 255 (the official uint8 wrap-around of 0 - 1)."""
    ids = np.asarray(raw).astype(np.int64) - 1
    ids[(ids < 0) | (ids > 254)] = NO_PREDICTION
    return ids.astype(np.uint8)


def colorize(labels: np.ndarray) -> np.ndarray:
    """NYUv2-40 label ids (uint8 HxW) -> RGB (uint8 HxWx3); other sets: `ClassSet.colorize`."""
    return nyu40().colorize(labels)


def class_color(class_id: int) -> tuple[int, int, int]:
    """The NYUv2-40 RGB colour of one class id (or of 255, "no prediction")."""
    return nyu40().color(class_id)
