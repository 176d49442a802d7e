"""NYUDv2-format datasets for evaluation, in the two layouts people have on disk.

1. RGBD_Semantic_Segmentation_PyTorch layout: DATA/RGB/<name>.jpg|png, DATA/Depth/<name>.png
   (uint16, millimetres by default), DATA/Label/<name>.png (0 = unlabelled, 1..40 = NYU40
   ids), and DATA/train.txt / DATA/test.txt with one sample per line: a bare name, an image
   path, or "RGB/<name>.jpg<TAB>Label/<name>.png".
2. The official SGNet list format (spec §4): lines "image label depth HHA", paths relative
   to the dataset root (e.g. images/val/1.jpg labels/val/1.png depths/val/1.png HHAs/val/1.png).

Labels are mapped like the official loader (Trap 11): 1..40 -> 0..39, 0 -> 255 (ignored).
Intrinsics come from DATA/intrinsics.json ({width, height, fx, fy, cx, cy}, 0-based pixel
centres) or default to the NYUv2 colour camera.
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import assets
from sgnet.errors import DatasetError
from sgnet.frames import Intrinsics, RGBDFrame

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
LABEL_FORMATS = ("nyu40", "zero-based")
NYU_SIZE = (640, 480)


def nyu_intrinsics(width: int = NYU_SIZE[0], height: int = NYU_SIZE[1]) -> Intrinsics:
    """The NYUv2 colour camera (0-based), rescaled to width x height if needed."""
    import hha

    fx, fy, cx, cy = hha.NYU_INTRINSICS
    base = Intrinsics(NYU_SIZE[0], NYU_SIZE[1], fx, fy, cx, cy)
    return base if (width, height) == NYU_SIZE else base.scaled(width, height)


@dataclass(frozen=True)
class SampleFiles:
    name: str
    image: Path
    depth: Path
    label: Path


@dataclass(frozen=True)
class RGBDSample:
    """One evaluation sample: the frame (colour RGB, raw depth, intrinsics) and its labels."""

    name: str
    frame: RGBDFrame
    label: np.ndarray  # uint8 HxW, 0..C-1, 255 = ignore


def _natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _find_with_ext(folder: Path, stem: str, exts: tuple[str, ...]) -> Path:
    for ext in exts:
        p = folder / f"{stem}{ext}"
        if p.exists():
            return p
    return folder / f"{stem}{exts[0]}"  # reported as missing later


def _folder_sample(root: Path, fields: list[str]) -> SampleFiles:
    first = fields[0]
    stem = Path(first).stem
    if Path(first).suffix.lower() in IMAGE_EXTS:  # "RGB/0.jpg", or "0.jpg" meaning RGB/0.jpg
        image = root / first if ("/" in first or (root / first).is_file()) else root / "RGB" / first
    else:
        image = _find_with_ext(root / "RGB", stem, IMAGE_EXTS)
    label = root / fields[1] if len(fields) > 1 else root / "Label" / f"{stem}.png"
    depth = root / "Depth" / f"{stem}.png"
    return SampleFiles(stem, image, depth, label)


_FIX_SAMPLE = "make it readable, or drop the sample from the list"


def _unreadable(path: Path, e: OSError, fix: str = _FIX_SAMPLE) -> DatasetError:
    """One line for a file the dataset needs but cannot read: a score would be wrong without
    it, so evaluation and training stop rather than skip it."""
    why = "permission denied" if isinstance(e, PermissionError) else (e.strerror or str(e)).lower()
    return DatasetError(f"cannot read {path}: {why} ({fix})")


def _read_list(list_file: Path) -> list[list[str]]:
    try:
        text = list_file.read_text(encoding="utf-8")
    except OSError as e:
        raise _unreadable(list_file, e, "check the list file's permissions") from None
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


@dataclass
class SegDataset:
    """An indexable list of samples; files are read lazily by `__getitem__`."""

    root: Path
    files: list[SampleFiles]
    layout: str  # "folder" | "official-list"
    depth_scale: float = 0.001
    intrinsics: Intrinsics | None = None  # None -> NYUv2 camera scaled to each image
    label_format: str = "nyu40"

    def __len__(self) -> int:
        return len(self.files)

    def read_label(self, i: int) -> np.ndarray:
        """Only the class ids of sample i (uint8, 255 = ignore): cheaper than the whole sample."""
        return map_labels(_read_label(self.files[i].label), self.label_format)

    def __getitem__(self, i: int) -> RGBDSample:
        f = self.files[i]
        color = _read_color(f.image)
        depth = _read_depth(f.depth)
        label = map_labels(_read_label(f.label), self.label_format)
        h, w = color.shape[:2]
        if depth.shape != (h, w) or label.shape != (h, w):
            raise DatasetError(
                f"sample {f.name}: image {w}x{h}, depth {depth.shape[1]}x{depth.shape[0]} and label "
                f"{label.shape[1]}x{label.shape[0]} must have the same size"
            )
        intr = self.intrinsics
        if intr is None:
            intr = nyu_intrinsics(w, h)
        elif (intr.width, intr.height) != (w, h):
            intr = intr.scaled(w, h)
        frame = RGBDFrame(color=color, depth=depth, depth_scale=self.depth_scale, intrinsics=intr, index=i)
        return RGBDSample(f.name, frame, label)


def map_labels(raw: np.ndarray, label_format: str = "nyu40") -> np.ndarray:
    """Stored label PNG -> uint8 class ids with 255 = ignore.

    "nyu40": 1..40 -> 0..39 and 0 -> 255 (the official uint8 wrap-around); "zero-based": as stored.
    """
    if label_format == "zero-based":
        return np.where(raw > 255, 255, raw).astype(np.uint8)
    if label_format != "nyu40":
        raise ValueError(f"label_format must be one of {LABEL_FORMATS}, got {label_format!r}")
    return assets.nyu40_to_ids(raw)


def _imread(path: Path, flags: int) -> np.ndarray:
    import cv2

    try:
        data = np.fromfile(str(path), dtype=np.uint8) if path.is_file() else None
    except OSError as e:
        raise _unreadable(path, e) from None
    img = cv2.imdecode(data, flags) if data is not None and data.size else None
    if img is None:
        raise DatasetError(f"cannot read image {path} (missing, empty or corrupt)")
    return img


def _read_color(path: Path) -> np.ndarray:
    import cv2

    img = _imread(path, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(img[:, :, ::-1])  # OpenCV BGR -> RGB


def _read_depth(path: Path) -> np.ndarray:
    import cv2

    d = _imread(path, cv2.IMREAD_UNCHANGED)
    if d.ndim != 2 or d.dtype != np.uint16:
        raise DatasetError(
            f"depth {path} is {d.dtype} with shape {d.shape}; expected a single-channel 16-bit PNG "
            "(raw depth units, e.g. millimetres)"
        )
    return d


def _read_label(path: Path) -> np.ndarray:
    import cv2

    lab = _imread(path, cv2.IMREAD_UNCHANGED)
    if lab.ndim == 3:
        raise DatasetError(f"label {path} has {lab.shape[2]} channels; expected a single-channel class-id PNG")
    return lab


def read_intrinsics_json(path: Path) -> Intrinsics:
    """{width, height, fx, fy, cx, cy} (0-based pixel centres) -> Intrinsics."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        size = int(d["width"]), int(d["height"])
        return Intrinsics(*size, float(d["fx"]), float(d["fy"]), float(d["cx"]), float(d["cy"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(
            f"bad intrinsics file {path} ({type(e).__name__}: {e}); expected JSON with width, height, fx, fy, cx, cy"
        ) from None


ALL = "all"  # the split that means every image in RGB/ (when there is no all.txt)


def _split_lists(root: Path) -> list[str]:
    """The splits a folder lists (train, test, ...: the names of its .txt files)."""
    try:
        return sorted(p.stem for p in root.glob("*.txt") if p.is_file())
    except OSError:
        return []


def _missing_split(root: Path, split: str) -> DatasetError:
    have = _split_lists(root)
    here = f"splits here: {', '.join(have)}" if have else "no split lists here"
    return DatasetError(f"no {split}.txt in {root} ({here}; '{ALL}' is every image in RGB/)")


def _file_problems(files: list[SampleFiles]) -> tuple[list[Path], list[tuple[Path, OSError]]]:
    """(missing, unreadable) among the listed files; a folder that cannot be searched makes its
    files unreadable, not missing."""
    missing, unreadable = [], []
    for p in (p for f in files for p in (f.image, f.depth, f.label)):
        try:
            if not p.is_file():
                missing.append(p)
            elif not os.access(p, os.R_OK):
                unreadable.append((p, PermissionError(errno.EACCES, "Permission denied")))
        except OSError as e:
            unreadable.append((p, e))
    return missing, unreadable


def open_dataset(
    data: str | Path,
    split: str | None = None,
    list_file: str | Path | None = None,
    depth_scale: float = 0.001,
    intrinsics: Intrinsics | None = None,
    label_format: str = "nyu40",
    limit: int | None = None,
) -> SegDataset:
    """Find the samples of `split` under `data` (a dataset folder or a list file) and check
    that every file exists and is readable. Raises DatasetError with one clear line otherwise.

    split: DATA/<split>.txt, which must exist: a missing list is an error, never a fall-back to
    every image (that would score training images as test ones); "all" without an all.txt is every
    image in RGB/. None (the default) is test.txt, or every image of a folder with no lists at all.
    """
    data = Path(data)
    if not os.path.exists(data):
        raise DatasetError(f"dataset not found: {data} (pass a NYUDv2 folder with RGB/, Depth/, Label/ or a list file)")
    if data.is_dir() and not os.access(data, os.R_OK | os.X_OK):
        raise _unreadable(data, PermissionError(errno.EACCES, "Permission denied"), "check the folder's permissions")
    if not (depth_scale > 0):
        raise DatasetError(f"depth scale must be positive metres per unit, got {depth_scale}")
    if label_format not in LABEL_FORMATS:
        raise DatasetError(f"label format must be one of {LABEL_FORMATS}, got {label_format!r}")
    root = data if data.is_dir() else data.parent
    lst = Path(list_file) if list_file is not None else (None if data.is_dir() else data)
    if split is None:
        split = "test" if (root / "test.txt").exists() or _split_lists(root) else ALL
    if lst is None and (root / f"{split}.txt").exists():
        lst = root / f"{split}.txt"
    elif lst is None and split != ALL and ((root / "RGB").is_dir() or _split_lists(root)):
        raise _missing_split(root, split)
    if lst is not None:
        if not lst.is_file():
            raise DatasetError(f"list file not found: {lst}")
        rows = _read_list(lst)
        if len(rows[0]) == 4:
            base = _official_root(lst, rows, data if data.is_dir() else None)
            files = [SampleFiles(Path(r[0]).stem, base / r[0], base / r[2], base / r[1]) for r in rows]
            layout, root = "official-list", base
        else:
            files = [_folder_sample(root, r) for r in rows]
            layout = "folder"
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
            raise _unreadable(rgb, e, "check the folder's permissions") from None
        names = sorted(images, key=lambda p: _natural_key(p.name))
        if not names:
            raise DatasetError(f"{rgb} holds no .jpg/.png images")
        files = [_folder_sample(root, [f"RGB/{p.name}"]) for p in names]
        layout = "folder"
    if limit is not None:
        files = files[: max(0, int(limit))]
    missing, unreadable = _file_problems(files)
    if missing:
        raise DatasetError(
            f"dataset {root}: {len(missing)} file(s) listed but missing, first {missing[0]} "
            "(check the folder layout: RGB/, Depth/, Label/)"
        )
    if unreadable:
        raise _unreadable(*unreadable[0])
    if intrinsics is None and (root / "intrinsics.json").exists():
        intrinsics = read_intrinsics_json(root / "intrinsics.json")
    return SegDataset(root, files, layout, depth_scale, intrinsics, label_format)
