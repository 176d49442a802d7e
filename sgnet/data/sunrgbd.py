"""SUN RGB-D: one folder per image, as the dataset ships (SUNRGBD/kv1/NYUdata/NYU0001/ ...).

Each image folder holds image/<name>.jpg, depth_bfx/<name>.png (hole-filled; preferred) and/or
depth/<name>.png, and intrinsics.txt (3x3 K, row-major). The depth PNGs' 16 bits are rotated:
millimetres = (raw >> 3) | (raw << 13) (16-bit), exactly as the SUN RGB-D toolbox's
read3dPoints reads them; read as plain depth they would be 8 times too far. K's principal point
is 1-based, as read3dPoints uses it (pixel x = 1..W), and is moved to 0-based here.

Labels (37 classes, 1..37, 0 = unlabelled; `label_classes` "sunrgbd37") are read from one PNG
in the folder's label37/ or label/ sub-folder (grey or palette), e.g. the per-image exports of
the toolbox's SUNRGBD2Dseg.mat. seg.mat is not read: its ids index each image's own object
names, not the 37 classes; turning them into classes needs the toolbox's mapping.

The dataset root holds the image folders at any depth (up to 6 levels); DATA/<split>.txt may list
them, one per line, relative to DATA or as toolbox paths ("/n/fs/.../SUNRGBD/kv1/NYUdata/NYU0001").
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sgnet.data.base import ALL, SampleFiles, SegDataset, missing_split, natural_key, unreadable
from sgnet.data.files import COLOR_EXTS
from sgnet.data.intrinsics import Camera, read_camera_matrix
from sgnet.errors import DatasetError
from sgnet.frames import Intrinsics

DEPTH_DIRS = ("depth_bfx", "depth")
LABEL_DIRS = ("label37", "label")
MAX_DEPTH = 6
MAX_PROBE = 2000  # folders a first-only search (layout detection) looks into before giving up
HINT = "each SUN RGB-D folder needs image/, depth_bfx/ or depth/, and intrinsics.txt"


def is_image_folder(d: Path) -> bool:
    """image/ and depth_bfx/ (only SUN RGB-D has it), or image/, depth/ and intrinsics.txt."""
    if not (d / "image").is_dir():
        return False
    return (d / "depth_bfx").is_dir() or ((d / "depth").is_dir() and (d / "intrinsics.txt").is_file())


def unrotate(raw: np.ndarray) -> np.ndarray:
    """SUN RGB-D's stored depth -> millimetres: the 16 bits rotated right by 3.

    Example: unrotate(np.array([8000], np.uint16)) == [1000]."""
    raw = raw.astype(np.uint16, copy=False)
    return (raw >> np.uint16(3)) | (raw << np.uint16(13))


def find_image_folders(root: Path, first_only: bool = False) -> list[Path]:
    """The image folders under root (root itself when it is one), in natural path order;
    the search does not enter an image folder nor go deeper than MAX_DEPTH. `first_only` (a
    probe: is this a SUN RGB-D tree?) stops at the first, or after MAX_PROBE folders."""
    found: list[Path] = []
    stack = [(root, 0)]
    seen = 0
    while stack and not (first_only and seen >= MAX_PROBE):
        d, depth = stack.pop()
        seen += 1
        if is_image_folder(d):
            found.append(d)
            if first_only:
                break
            continue
        if depth >= MAX_DEPTH:
            continue
        try:
            with os.scandir(d) as it:
                subs = [Path(e.path) for e in it if not e.name.startswith(".") and e.is_dir()]
        except OSError as e:
            if d == root:
                raise unreadable(d, e, "check the folder's permissions") from None
            continue
        stack.extend((s, depth + 1) for s in sorted(subs, reverse=True))
    return sorted(found, key=lambda p: natural_key(p.relative_to(root).as_posix()))


def _first_file(folder: Path, exts: tuple[str, ...]) -> Path | None:
    try:
        names = sorted(p for p in folder.iterdir() if p.suffix.lower() in exts and not p.name.startswith("."))
    except OSError:
        return None
    return names[0] if names else None


def _sample(root: Path, d: Path) -> SampleFiles:
    name = d.relative_to(root).as_posix() if d != root else d.name
    image = _first_file(d / "image", COLOR_EXTS)
    depth = next((p for p in (_first_file(d / s, (".png",)) for s in DEPTH_DIRS) if p is not None), None)
    if image is None or depth is None:
        what = "image/ holds no image" if image is None else "neither depth_bfx/ nor depth/ holds a .png"
        raise DatasetError(f"SUN RGB-D folder {d}: {what} ({HINT})")
    label = next((p for p in (_first_file(d / s, (".png",)) for s in LABEL_DIRS) if p is not None), None)
    camera = d / "intrinsics.txt" if (d / "intrinsics.txt").is_file() else None
    return SampleFiles(name, image, depth, label, camera)


def _listed(root: Path, list_file: Path) -> list[Path]:
    try:
        lines = [ln.strip() for ln in list_file.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read list file {list_file}: {e}") from None
    folders = []
    for ln in (ln for ln in lines if ln and not ln.startswith("#")):
        p = root / ln.strip("/") if not Path(ln).is_absolute() else Path(ln)
        if not p.is_dir() and "SUNRGBD/" in ln:  # a toolbox path: the part after SUNRGBD/
            p = root / ln.split("SUNRGBD/")[-1].strip("/")
        if not is_image_folder(p):
            raise DatasetError(f"{list_file} lists {ln}, which is not a SUN RGB-D image folder under {root} ({HINT})")
        folders.append(p)
    if not folders:
        raise DatasetError(f"list file {list_file} is empty")
    return folders


class SunRGBDDataset(SegDataset):
    """Depth un-rotated on read; each folder's own intrinsics.txt."""

    def _depth(self, f: SampleFiles) -> np.ndarray:
        d = super()._depth(f)
        return unrotate(d) if f.depth.suffix.lower() == ".png" else d

    def _own_camera(self, f: SampleFiles) -> Camera | None:
        return read_camera_matrix(f.camera, one_based=True) if isinstance(f.camera, Path) else None


def open_sunrgbd(
    data: Path, split: str | None = None, depth_scale: float | None = None, intrinsics: Intrinsics | None = None,
    label_format: str = "nyu40",
) -> SunRGBDDataset:
    """One image folder, or every image folder under a root (or those DATA/<split>.txt lists)."""
    if is_image_folder(data):
        folders = [data]
    elif split is not None and (data / f"{split}.txt").is_file():
        folders = _listed(data, data / f"{split}.txt")
    elif split is None and (data / "test.txt").is_file():
        folders = _listed(data, data / "test.txt")
    elif split in (None, ALL):
        folders = find_image_folders(data)
    else:
        raise missing_split(data, split, "every image folder under it")
    if not folders:
        raise DatasetError(f"no SUN RGB-D image folders under {data} ({HINT})")
    files = [_sample(data, d) for d in folders]
    labelled = sum(f.label is not None for f in files)
    no_labels = "" if labelled == len(files) else (
        f"{len(files) - labelled} of the {len(files)} SUN RGB-D folders under {data} have no label37/ or label/ PNG "
        "(37-class labels exported from the toolbox's SUNRGBD2Dseg.mat; seg.mat is not read)"
    )
    return SunRGBDDataset(
        data, files, "sunrgbd", 0.001 if depth_scale is None else depth_scale, intrinsics, label_format,
        "sunrgbd37", no_labels=no_labels, intrinsics_add="add intrinsics.txt (3x3 K) to the image folder",
    )
