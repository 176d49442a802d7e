"""Labeled point clouds as binary PLY: x, y, z (metres, camera frame), the class color as
red/green/blue, and the class id as a `label` property (viewers show the colors; tools that
read custom properties get the ids). The header's comments name the class set and each id, so
a cloud saved alone (the window's E key) still says what its labels mean."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assets.classes import ClassSet
from sgnet.frames import Intrinsics

PLY_DTYPE = np.dtype(
    [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1"), ("label", "u1")]
)


def labeled_points(depth_m: np.ndarray, labels: np.ndarray, intrinsics: Intrinsics, palette: np.ndarray) -> np.ndarray:
    """Back-project every pixel with depth > 0 (0-based pinhole) into a structured PLY_DTYPE array."""
    if depth_m.shape != labels.shape:
        raise ValueError(f"depth {depth_m.shape} and labels {labels.shape} must have the same size")
    v, u = np.nonzero(depth_m > 0)
    z = depth_m[v, u].astype(np.float32)
    pts = np.empty(z.size, PLY_DTYPE)
    pts["x"] = (u.astype(np.float32) - intrinsics.cx) * z / intrinsics.fx
    pts["y"] = (v.astype(np.float32) - intrinsics.cy) * z / intrinsics.fy
    pts["z"] = z
    lab = labels[v, u]
    rgb = palette[lab]
    pts["red"], pts["green"], pts["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    pts["label"] = lab
    return pts


def _comment(text: str) -> str:
    """One header comment line: ASCII, no line breaks (a name must not end the header early)."""
    return "comment " + " ".join(text.split()).encode("ascii", "replace").decode("ascii") + "\n"


def write_ply(path: str | Path, points: np.ndarray, classes: ClassSet | None = None) -> None:
    """classes: the set the `label` ids belong to, named in the header (None: ids only)."""
    if points.dtype != PLY_DTYPE:
        raise ValueError(f"write_ply expects a {PLY_DTYPE} array")
    if classes is None:
        names = _comment("sgnet-live labeled point cloud (label = class id, 255 = no prediction)")
    else:
        names = _comment(f"sgnet-live labeled point cloud (label = {classes.describe()} id, 255 = no prediction)")
        names += "".join(_comment(f"label {i} = {n}") for i, n in enumerate(classes.names))
    header = (
        "ply\nformat binary_little_endian 1.0\n" + names + f"element vertex {points.size}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar label\nend_header\n"
    )
    with open(path, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(np.ascontiguousarray(points).tobytes())
