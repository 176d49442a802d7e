"""NYUDv2-format datasets, in the two layouts people have on disk.

1. RGBD_Semantic_Segmentation_PyTorch layout: DATA/RGB/<name>.jpg|png, DATA/Depth/<name>.png
   (uint16, millimetres by default) or <name>.npy (float metres, or uint16 raw units),
   DATA/Label/<name>.png (0 = unlabelled, 1..40 = NYU40 ids; grey or palette PNG) or, instead,
   DATA/Label13/<name>.png (NYUv2-13: 1..13), and DATA/train.txt / DATA/test.txt with one sample
   per line: a bare name, an image path, or "RGB/<name>.jpg<TAB>Label/<name>.png".
2. The official SGNet list format (spec §4): lines "image label depth HHA", paths relative
   to the dataset root (e.g. images/val/1.jpg labels/val/1.png depths/val/1.png HHAs/val/1.png).

Labels are mapped like the official loader (Trap 11): 1..40 -> 0..39, 0 -> 255 (ignored); the
same for Label13/ (1..13 -> 0..12, `label_classes` "nyu13"). A DATA/classes.json (a class-set file,
docs/classes.md) says Label/ holds 1-based ids of that set instead of NYU40 (what `sgnet distill`
writes for a teacher in another set). Intrinsics come from
DATA/intrinsics.json ({width, height, fx, fy, cx, cy}, 0-based pixel centres) or default to the
NYUv2 colour camera (square pixels for frames that are not 4:3: `sgnet.data.intrinsics`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np  # noqa: F401 (tests reach np.fromfile through this module)

from sgnet.data.base import (
    ALL,
    LABEL_FORMATS,
    RGBDSample,
    SampleFiles,
    SegDataset,
    map_labels,
    missing_split,
    natural_key,
    split_lists,
    unreadable,
)
from sgnet.data.files import DEPTH_EXTS, FileReadError
from sgnet.data.intrinsics import NYU_SIZE, nyu_intrinsics, read_intrinsics_json
from sgnet.errors import DatasetError
from sgnet.frames import Intrinsics

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
LABEL_DIRS = {"Label": "nyu40", "Label13": "nyu13"}  # preferred first: NYU40 maps onto 13, not back
HINT = "check the folder layout: RGB/, Depth/, Label/"

__all__ = [
    "IMAGE_EXTS", "LABEL_FORMATS", "NYU_SIZE", "FileReadError", "RGBDSample", "SampleFiles", "SegDataset",
    "map_labels", "nyu_intrinsics", "open_nyudv2", "read_intrinsics_json",
]


def _find_with_ext(folder: Path, stem: str, exts: tuple[str, ...]) -> Path:
    for ext in exts:
        p = folder / f"{stem}{ext}"
        if p.exists():
            return p
    return folder / f"{stem}{exts[0]}"  # reported as missing later


def _label_dir(root: Path) -> str | None:
    return next((d for d in LABEL_DIRS if (root / d).is_dir()), None)


def _folder_sample(root: Path, fields: list[str], label_dir: str | None) -> SampleFiles:
    first = fields[0]
    stem = Path(first).stem
    if Path(first).suffix.lower() in IMAGE_EXTS:  # "RGB/0.jpg", or "0.jpg" meaning RGB/0.jpg
        image = root / first if ("/" in first or (root / first).is_file()) else root / "RGB" / first
    else:
        image = _find_with_ext(root / "RGB", stem, IMAGE_EXTS)
    if len(fields) > 1:
        label: Path | None = root / fields[1]
    else:
        label = root / label_dir / f"{stem}.png" if label_dir else None
    return SampleFiles(stem, image, _find_with_ext(root / "Depth", stem, DEPTH_EXTS), label)


def _read_list(list_file: Path) -> list[list[str]]:
    try:
        text = list_file.read_text(encoding="utf-8")
    except OSError as e:
        raise unreadable(list_file, e, "check the list file's permissions") from None
    except UnicodeDecodeError as e:
        raise DatasetError(f"cannot read list file {list_file}: {e}") from None
    rows = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not rows:
        raise DatasetError(f"list file {list_file} is empty")
    widths = {len(r) for r in rows}
    if not (widths <= {1, 2} or widths == {4}):
        raise DatasetError(
            f"list file {list_file}: every line must have 1 (name), 2 (image label) or 4 "
            f"(image label depth HHA) fields, found lines with {sorted({len(r) for r in rows})} fields"
        )
    return rows


def _official_root(list_file: Path, rows: list[list[str]], root: Path | None) -> Path:
    candidates = [root] if root is not None else []
    candidates += [list_file.parent, *list(list_file.parent.parents)[:3]]
    for c in candidates:
        if c is not None and (c / rows[0][0]).exists():
            return c
    raise DatasetError(
        f"{list_file}: cannot find {rows[0][0]} relative to {', '.join(str(c) for c in candidates if c)}; "
        "pass the dataset root as DATA and the list with --list"
    )


CLASSES_FILE = "classes.json"  # beside Label/: the class set its 1-based ids are in (default NYU40)


def _label_classes(files: list[SampleFiles], root: Path) -> str:
    """"nyu13" when every label file is in a Label13/ folder, else DATA/classes.json when there is
    one, else "nyu40"; a list mixing Label13/ with other folders would score 13-class ids as NYU40
    ones, so it is refused."""
    kinds = {"nyu13" if f.label.parent.name.lower() == "label13" else "nyu40" for f in files if f.label is not None}
    if len(kinds) > 1:
        raise DatasetError("the list names labels in Label13/ (NYUv2-13) and in other folders (NYU40); use one kind")
    kind = kinds.pop() if kinds else "nyu40"
    if kind == "nyu40" and (root / CLASSES_FILE).is_file():
        return str(root / CLASSES_FILE)
    return kind


def open_nyudv2(
    data: Path,
    split: str | None = None,
    list_file: str | Path | None = None,
    depth_scale: float | None = None,
    intrinsics: Intrinsics | None = None,
    label_format: str = "nyu40",
) -> SegDataset:
    """Find the samples of `split` under `data` (a dataset folder or a list file); files are
    checked by `sgnet.data.open_dataset`.

    split: DATA/<split>.txt, which must exist: a missing list is an error, never a fall-back to
    every image (that would score training images as test ones); "all" without an all.txt is every
    image in RGB/. None (the default) is test.txt, or every image of a folder with no lists at all.
    """
    root = data if data.is_dir() else data.parent
    lst = Path(list_file) if list_file is not None else (None if data.is_dir() else data)
    if split is None:
        split = "test" if (root / "test.txt").exists() or split_lists(root) else ALL
    if lst is None and (root / f"{split}.txt").exists():
        lst = root / f"{split}.txt"
    elif lst is None and split != ALL and ((root / "RGB").is_dir() or split_lists(root)):
        raise missing_split(root, split)
    label_dir = _label_dir(root)
    if lst is not None:
        if not lst.is_file():
            raise DatasetError(f"list file not found: {lst}")
        rows = _read_list(lst)
        if len(rows[0]) == 4:
            base = _official_root(lst, rows, data if data.is_dir() else None)
            files = [SampleFiles(Path(r[0]).stem, base / r[0], base / r[2], base / r[1]) for r in rows]
            layout, root = "nyudv2-official-list", base
        else:
            files = [_folder_sample(root, r, label_dir) for r in rows]
            layout = "nyudv2-folder"
    else:
        rgb = root / "RGB"
        if not rgb.is_dir():
            raise DatasetError(
                f"{root} is not a NYUDv2 dataset: no {split}.txt and no RGB/ folder "
                "(expected RGB/, Depth/, Label/ and train.txt/test.txt, or an official list file)"
            )
        try:
            images = [p for p in rgb.iterdir() if p.suffix.lower() in IMAGE_EXTS]
        except OSError as e:
            raise unreadable(rgb, e, "check the folder's permissions") from None
        names = sorted(images, key=lambda p: natural_key(p.name))
        if not names:
            raise DatasetError(f"{rgb} holds no .jpg/.png images")
        files = [_folder_sample(root, [f"RGB/{p.name}"], label_dir) for p in names]
        layout = "nyudv2-folder"
    what = "the given intrinsics"
    if intrinsics is None and os.path.exists(root / "intrinsics.json"):
        intrinsics, what = read_intrinsics_json(root / "intrinsics.json"), str(root / "intrinsics.json")
    no_labels = "" if any(f.label for f in files) else f"{root} has no Label/ or Label13/ folder"
    return SegDataset(
        root, files, layout, 0.001 if depth_scale is None else depth_scale, intrinsics, label_format,
        _label_classes(files, root), no_labels=no_labels, intrinsics_what=what,
        intrinsics_add=f"add {root / 'intrinsics.json'} with width, height, fx, fy, cx, cy",
    )
