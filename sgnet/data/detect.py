"""Which reader a dataset folder is for, and `open_dataset`, the one way in for every layout.

Detection looks at what only one layout has, cheapest first: rgb.txt + depth.txt (TUM), a
scene's color/ + depth/ + intrinsic/ (ScanNet), image/ + depth_bfx/ (SUN RGB-D), RGB/ (NYUDv2);
then the same one level down (a folder of ScanNet scenes) or deeper (a SUN RGB-D tree). A list
file, or a folder with only split lists, is NYUDv2's.
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Callable
from pathlib import Path

from sgnet.data import nyudv2, scannet, sunrgbd, tum
from sgnet.data.base import LABEL_FORMATS, SegDataset, check_files, split_lists, unreadable
from sgnet.errors import DatasetError
from sgnet.frames import Intrinsics

LAYOUTS = ("nyudv2", "sunrgbd", "scannet", "tum")
HINTS = {"nyudv2": nyudv2.HINT, "sunrgbd": sunrgbd.HINT, "scannet": scannet.HINT, "tum": tum.HINT}
EXPECTED = (
    "expected NYUDv2 (RGB/, Depth/, Label/ and test.txt, or an official list file), SUN RGB-D (image folders with "
    "image/, depth_bfx/, intrinsics.txt), ScanNet (scenes with color/, depth/, intrinsic/) or TUM RGB-D "
    "(rgb.txt, depth.txt)"
)


def detect_layout(path: str | Path) -> str | None:
    """ "nyudv2" | "sunrgbd" | "scannet" | "tum" for a dataset folder (a file: a NYUDv2 list), None
    when no layout fits."""
    path = Path(path)
    if not path.is_dir():
        return "nyudv2" if path.is_file() else None
    if tum.is_sequence(path):
        return "tum"
    if scannet.is_scene(path):
        return "scannet"
    if sunrgbd.is_image_folder(path):
        return "sunrgbd"
    if (path / "RGB").is_dir():
        return "nyudv2"
    try:
        if scannet.scenes_under(path):
            return "scannet"
        if sunrgbd.find_image_folders(path, first_only=True):
            return "sunrgbd"
    except DatasetError:  # cannot look inside: the reader that opens it says why
        return None
    return "nyudv2" if split_lists(path) else None


def open_dataset(
    data: str | Path,
    split: str | None = None,
    list_file: str | Path | None = None,
    depth_scale: float | None = None,
    intrinsics: Intrinsics | None = None,
    label_format: str = "nyu40",
    limit: int | None = None,
    *,
    label_map: str | Path | None = None,
    need_labels: bool = False,
    on_note: Callable[[str], None] | None = None,
) -> SegDataset:
    """The dataset at `data` (a folder of any layout above, or a NYUDv2 list file), every listed
    file checked to exist and be readable; `DatasetError` with one clear line otherwise.

    split: which list to read (DATA/<split>.txt; None: test.txt if there is one); "all" is every
    sample. A single SUN RGB-D image folder, ScanNet scene or TUM sequence has no splits.
    depth_scale: metres per depth unit; None is the layout's own (0.001, TUM 0.0002).
    intrinsics: override the dataset's own. label_map: ScanNet's scannetv2-labels.combined.tsv when
    it is not beside the scenes. need_labels: no labels is an error (evaluation, training), said
    at once. on_note: where notes go (assumed intrinsics, skipped frames); default `warnings`.
    """
    data = Path(data)
    if not os.path.exists(data):
        raise DatasetError(f"dataset not found: {data} (pass a dataset folder or a list file)")
    if data.is_dir() and not os.access(data, os.R_OK | os.X_OK):
        raise unreadable(data, PermissionError(errno.EACCES, "Permission denied"), "check the folder's permissions")
    if depth_scale is not None and not (depth_scale > 0 and math.isfinite(depth_scale)):
        raise DatasetError(f"depth scale must be positive metres per unit, got {depth_scale}")
    if label_format not in LABEL_FORMATS:
        raise DatasetError(f"label format must be one of {LABEL_FORMATS}, got {label_format!r}")
    kind = "nyudv2" if list_file is not None else detect_layout(data)
    if kind == "tum":
        ds: SegDataset = tum.open_tum(data, depth_scale, intrinsics)
    elif kind == "scannet":
        ds = scannet.open_scannet(data, split, depth_scale, intrinsics, label_format, label_map)
    elif kind == "sunrgbd":
        ds = sunrgbd.open_sunrgbd(data, split, depth_scale, intrinsics, label_format)
    elif kind == "nyudv2":
        ds = nyudv2.open_nyudv2(data, split, list_file, depth_scale, intrinsics, label_format)
    else:
        raise DatasetError(f"{data} holds no dataset layout this reader knows: {EXPECTED}")
    if limit is not None:
        ds.files = ds.files[: max(0, int(limit))]
    check_files(ds, HINTS[kind])
    if need_labels and not ds.has_labels:
        raise DatasetError(f"no labels to score against: {ds.no_labels or f'{data} has no label files'}")
    ds.listen(on_note)
    return ds
