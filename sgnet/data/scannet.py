"""ScanNet frames as the SensReader export and the 2D label zips lay them out.

A scene folder (scene0000_00/) holds color/<N>.jpg (1296x968), depth/<N>.png (uint16 mm,
640x480), intrinsic/intrinsic_color.txt and intrinsic/intrinsic_depth.txt (4x4), pose/ (not
read) and, from scene*_2d-label-filt.zip, label-filt/<N>.png: raw ScanNet category ids (16-bit,
at the colour size). The ScanNet-frames-25k export is read too (intrinsics_color.txt and
intrinsics_depth.txt beside color/, label/ instead of label-filt/).

One size: colour and depth come at different sizes (and from two cameras registered to each
other), so every frame is brought to the depth's size — colour resized with area averaging,
labels with nearest neighbour — and the depth camera's intrinsics are used. Nothing is
invented: the depth keeps its measured pixels, and the depth size is what the model needs.

Labels: raw ids -> NYU40 through scannetv2-labels.combined.tsv (columns `id` and `nyu40id`;
ids it does not list are unlabelled), found beside the scene or in any folder above it, or given
as `label_map`; then 1..40 -> 0..39, 0 -> 255 (`label_classes` "nyu40"). Without the tsv the
frames still read (sgnet-live), but there are no labels, and evaluation says why.

DATA is a scene, or a folder of scenes; DATA/<split>.txt or DATA/scannetv2_<split>.txt (the
official split files) lists scene names. Only frames with a label file are read when the scene
has labels; frames are matched by file name without the extension.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sgnet.data.base import ALL, SampleFiles, SegDataset, map_labels, natural_key, split_lists, unreadable
from sgnet.data.files import read_label
from sgnet.data.intrinsics import Camera, read_camera_matrix
from sgnet.errors import DatasetError
from sgnet.frames import Intrinsics

TSV = "scannetv2-labels.combined.tsv"
LABEL_DIRS = ("label-filt", "label")
HINT = "a ScanNet scene needs color/, depth/ and intrinsic/ (or intrinsics_*.txt)"


def is_scene(d: Path) -> bool:
    if not ((d / "color").is_dir() and (d / "depth").is_dir()):
        return False
    if (d / "intrinsic").is_dir() or (d / "label-filt").is_dir():
        return True
    return (d / "intrinsics_color.txt").is_file() or (d / "intrinsics_depth.txt").is_file()


def scenes_under(root: Path) -> list[Path]:
    try:
        subs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError as e:
        raise unreadable(root, e, "check the folder's permissions") from None
    return sorted((p for p in subs if is_scene(p)), key=lambda p: natural_key(p.name))


def find_tsv(start: Path, given: str | Path | None = None) -> Path | None:
    """The label map: `given`, else scannetv2-labels.combined.tsv in start or a folder above it."""
    if given is not None:
        if not Path(given).is_file():
            raise DatasetError(f"ScanNet label map not found: {given}")
        return Path(given)
    return next((d / TSV for d in (start, *start.resolve().parents) if (d / TSV).is_file()), None)


def read_tsv(path: Path) -> np.ndarray:
    """uint8 lookup: raw ScanNet id (0..65535) -> NYU40 id (1..40; 0 for ids the file does not list)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"cannot read ScanNet label map {path}: {e}") from None
    if not rows or not {"id", "nyu40id"} <= set(rows[0]):
        have = ", ".join(list(rows[0])[:6]) if rows else "nothing"
        raise DatasetError(f"{path} is not a ScanNet label map: expected columns id and nyu40id, found {have}")
    lut = np.zeros(65536, np.uint8)
    for r in rows:
        try:
            raw, nyu = int(r["id"]), int(r["nyu40id"] or 0)
        except ValueError:
            continue
        if 0 <= raw < 65536 and 0 <= nyu <= 40:
            lut[raw] = nyu
    return lut


def _stems(folder: Path, exts: tuple[str, ...]) -> dict[str, Path]:
    try:
        return {p.stem: p for p in folder.iterdir() if p.suffix.lower() in exts and not p.name.startswith(".")}
    except OSError as e:
        raise unreadable(folder, e, "check the folder's permissions") from None


def _scene_camera(scene: Path) -> Path | None:
    for p in (scene / "intrinsic" / "intrinsic_depth.txt", scene / "intrinsics_depth.txt"):
        if p.is_file():
            return p
    return None


def _scene_files(scene: Path, prefix: str, notes: list[str]) -> list[SampleFiles]:
    colors, depths = _stems(scene / "color", (".jpg", ".jpeg", ".png")), _stems(scene / "depth", (".png",))
    label_dir = next((scene / d for d in LABEL_DIRS if (scene / d).is_dir()), None)
    labels = _stems(label_dir, (".png",)) if label_dir else {}
    names = sorted(set(colors) & set(depths) & (set(labels) if label_dir else set(colors)), key=natural_key)
    if label_dir and len(names) < len(set(colors) & set(depths)):
        notes.append(f"{scene.name}: {len(set(colors) & set(depths)) - len(names)} frame(s) without a "
                     f"{label_dir.name}/ file are left out")
    cam = _scene_camera(scene)
    return [SampleFiles(prefix + n, colors[n], depths[n], labels.get(n), cam) for n in names]


class ScanNetDataset(SegDataset):
    """Colour and labels brought to the depth's size; raw ids mapped to NYU40 by `lut`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.lut: np.ndarray | None = None  # raw id -> NYU40 id; None without the tsv
        self._sizes: dict[Path, tuple[int, int]] = {}  # depth size per scene: one decode, not one per label

    def _aligned(self, f: SampleFiles, color: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        h, w = depth.shape
        if color.shape[:2] != (h, w):
            color = cv2.resize(color, (w, h), interpolation=cv2.INTER_AREA)
        return color, depth

    def _own_camera(self, f: SampleFiles) -> Camera | None:
        return read_camera_matrix(f.camera) if isinstance(f.camera, Path) else None

    def _label(self, f: SampleFiles) -> np.ndarray:
        import cv2

        assert f.label is not None and self.lut is not None
        raw = read_label(f.label)
        if f.depth.parent not in self._sizes:
            self._sizes[f.depth.parent] = self._depth(f).shape
        h, w = self._sizes[f.depth.parent]
        if raw.shape != (h, w):
            raw = cv2.resize(raw, (w, h), interpolation=cv2.INTER_NEAREST)
        return map_labels(self.lut[raw])


def open_scannet(
    data: Path, split: str | None = None, depth_scale: float | None = None, intrinsics: Intrinsics | None = None,
    label_format: str = "nyu40", label_map: str | Path | None = None,
) -> ScanNetDataset:
    """A scene, or the scenes of a folder (those DATA/<split>.txt lists)."""
    if label_format == "zero-based":
        raise DatasetError("ScanNet labels are raw ids mapped through the label map; 'zero-based' does not apply")
    if is_scene(data):
        scenes, multi = [data], False
    else:
        scenes, multi = scenes_under(data), True
        lists = [p for p in (data / f"{split}.txt", data / f"scannetv2_{split}.txt") if split and p.is_file()]
        if lists:
            wanted = [ln.strip() for ln in lists[0].read_text(encoding="utf-8").split() if ln.strip()]
            have = {s.name: s for s in scenes}
            missing = [w for w in wanted if w not in have]
            if missing:
                raise DatasetError(f"{lists[0]} lists {len(missing)} scene(s) not in {data}, first {missing[0]}")
            scenes = [have[w] for w in wanted]
        elif split not in (None, ALL):
            here = ", ".join(split_lists(data)) or "none"
            raise DatasetError(
                f"no {split}.txt or scannetv2_{split}.txt in {data} (lists here: {here}; '{ALL}' is every scene)"
            )
    if not scenes:
        raise DatasetError(f"no ScanNet scenes in {data} ({HINT})")
    notes: list[str] = []
    files = [f for s in scenes for f in _scene_files(s, f"{s.name}/" if multi else "", notes)]
    if not files:
        raise DatasetError(f"no frames in {data}: no file in color/ has a depth/ file of the same name")
    no_labels, lut = "", None
    if any(f.label is not None for f in files):
        tsv = find_tsv(data, label_map)
        if tsv is None:
            no_labels = (f"the ScanNet labels under {data} are raw ScanNet ids; {TSV} (from the ScanNet release) "
                         "maps them to NYU40: put it beside the scene or in a folder above it")
        else:
            lut = read_tsv(tsv)
    else:
        no_labels = f"the ScanNet scene(s) in {data} have no label-filt/ folder (from scene*_2d-label-filt.zip)"
    ds = ScanNetDataset(
        data, files, "scannet", 0.001 if depth_scale is None else depth_scale, intrinsics, label_format, "nyu40",
        notes=notes, no_labels=no_labels, intrinsics_add="add intrinsic/intrinsic_depth.txt to the scene",
    )
    ds.lut = lut
    return ds
