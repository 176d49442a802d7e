"""The one dataset interface every layout reader implements (`SegDataset`), and what they share.

A dataset is a list of `SampleFiles` read lazily: `read_frame(i)` gives the `RGBDFrame` (colour,
raw depth, the reader's depth scale, intrinsics), `read_label(i)` the class ids (uint8, 0-based,
255 = ignore) at the frame's size, `ds[i]` both as an `RGBDSample`. A reader subclasses
`SegDataset` and overrides only what its layout does differently (SUN RGB-D's bit-rotated
depth, ScanNet's resizing and id mapping). `label_classes` names the class set the labels are in
after reading ("nyu40", "nyu13", "sunrgbd37"), so a caller can map them into the set it scores.
"""

from __future__ import annotations

import errno
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import assets
from sgnet.data.files import read_color, read_depth, read_label
from sgnet.data.intrinsics import NYU_SIZE, Camera, fit_intrinsics, same_aspect
from sgnet.errors import DatasetError
from sgnet.frames import Intrinsics, RGBDFrame

LABEL_FORMATS = ("nyu40", "one-based", "zero-based")  # "nyu40" is the historic name of "one-based"


class DatasetWarning(UserWarning):
    """Something the user should know about a dataset (assumed intrinsics, skipped frames)."""


@dataclass(frozen=True)
class SampleFiles:
    """The files of one sample. `camera`: the sample's own (fx, fy, cx, cy) for the frame as read,
    or the file holding them (read when the frame is); `timestamp`: seconds (TUM)."""

    name: str
    image: Path
    depth: Path
    label: Path | None = None
    camera: Camera | Path | None = None
    timestamp: float | None = None


@dataclass(frozen=True)
class RGBDSample:
    """One evaluation sample: the frame (colour RGB, raw depth, intrinsics) and its labels."""

    name: str
    frame: RGBDFrame
    label: np.ndarray  # uint8 HxW, 0..C-1, 255 = ignore


def map_labels(raw: np.ndarray, label_format: str = "nyu40") -> np.ndarray:
    """Stored label ids -> uint8 class ids with 255 = ignore.

    "nyu40"/"one-based": 1..N -> 0..N-1 and 0 -> 255 (the official uint8 wrap-around; also what
    NYUv2-13 and SUN RGB-D-37 files store); "zero-based": as stored, anything above 255 -> 255.
    """
    if label_format == "zero-based":
        return np.where(raw > 255, 255, raw).astype(np.uint8)
    if label_format not in LABEL_FORMATS:
        raise ValueError(f"label_format must be one of {LABEL_FORMATS}, got {label_format!r}")
    return assets.nyu40_to_ids(raw)


def natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


@dataclass
class SegDataset:
    """An indexable list of samples; files are read lazily. `intrinsics`: given by the caller (or
    the dataset's intrinsics.json), overriding the samples' own; None and no own camera -> the
    NYUv2 camera for 4:3 frames, a square-pixel guess for others (with a note)."""

    root: Path
    files: list[SampleFiles]
    layout: str  # "nyudv2-folder" | "nyudv2-official-list" | "sunrgbd" | "scannet" | "tum"
    depth_scale: float = 0.001
    intrinsics: Intrinsics | None = None
    label_format: str = "nyu40"
    label_classes: str = "nyu40"  # the class set of the labels after reading
    notes: list[str] = field(default_factory=list)
    on_note: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    no_labels: str = ""  # why there are no labels, when there are none (for "sgnet eval" to say)
    intrinsics_what: str = "the given intrinsics"  # names `intrinsics` in notes and errors
    intrinsics_add: str = "add intrinsics.json with width, height, fx, fy, cx, cy"  # the fix, when missing

    def __post_init__(self) -> None:
        self._cameras: dict[object, tuple[Intrinsics, str | None]] = {}
        self._said = set(self.notes)

    @property
    def has_labels(self) -> bool:
        return not self.no_labels and bool(self.files) and all(f.label is not None for f in self.files)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.files]

    def __len__(self) -> int:
        return len(self.files)

    def listen(self, on_note: Callable[[str], None] | None) -> None:
        """Send notes to `on_note` (None: `warnings`) from now on, and those said while opening."""
        self.on_note = on_note
        for text in self.notes:
            self._emit(text)

    def note(self, text: str) -> None:
        """Tell the user once: through `on_note`, else as a `DatasetWarning`."""
        if text in self._said:
            return
        self._said.add(text)
        self.notes.append(text)
        self._emit(text)

    def _emit(self, text: str) -> None:
        if self.on_note is not None:
            self.on_note(text)
        else:
            warnings.warn(text, DatasetWarning, stacklevel=4)

    def read_frame(self, i: int) -> RGBDFrame:
        """Colour and depth of sample i, brought to one size, with the intrinsics for that size."""
        f = self.files[i]
        color, depth = self._aligned(f, self._color(f), self._depth(f))
        h, w = depth.shape
        ts = 0.0 if f.timestamp is None else f.timestamp * 1000.0
        return RGBDFrame(color, depth, self.depth_scale, self._intrinsics_for(f, w, h), i, ts)

    def read_label(self, i: int) -> np.ndarray:
        """Only the class ids of sample i (uint8, 255 = ignore): cheaper than the whole sample."""
        f = self.files[i]
        if f.label is None or self.no_labels:
            raise DatasetError(self.no_labels or f"sample {f.name} of {self.root} has no label file")
        return self._label(f)

    def __getitem__(self, i: int) -> RGBDSample:
        frame = self.read_frame(i)
        label = self.read_label(i)
        if label.shape != frame.depth.shape:
            f = self.files[i]
            raise DatasetError(
                f"sample {f.name}: image and depth {frame.width}x{frame.height} and label "
                f"{label.shape[1]}x{label.shape[0]} ({f.label}) must have the same size"
            )
        return RGBDSample(self.files[i].name, frame, label)

    # --- what a layout may do differently ------------------------------------------------------

    def _color(self, f: SampleFiles) -> np.ndarray:
        return read_color(f.image)

    def _depth(self, f: SampleFiles) -> np.ndarray:
        return read_depth(f.depth, self.depth_scale)

    def _label(self, f: SampleFiles) -> np.ndarray:
        assert f.label is not None
        return map_labels(read_label(f.label), self.label_format)

    def _aligned(self, f: SampleFiles, color: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Colour and depth of one size; here they must already be."""
        if color.shape[:2] != depth.shape:
            raise DatasetError(
                f"sample {f.name}: image {color.shape[1]}x{color.shape[0]} ({f.image.name}) and depth "
                f"{depth.shape[1]}x{depth.shape[0]} ({f.depth.name}) must have the same size"
            )
        return color, depth

    def _own_camera(self, f: SampleFiles) -> Camera | None:
        """The sample's own (fx, fy, cx, cy), for the frame as `read_frame` returns it."""
        return f.camera if isinstance(f.camera, tuple) else None

    def _intrinsics_for(self, f: SampleFiles, w: int, h: int) -> Intrinsics:
        given = self.intrinsics
        if given is None:
            cam = self._own_camera(f)
            if cam is not None:
                return Intrinsics(w, h, *cam)
        key = (given, w, h)
        if key not in self._cameras:
            what = self.intrinsics_what if given is not None else f"intrinsics in {self.root}"
            self._cameras[key] = fit_intrinsics(given, w, h, what=what, add=self.intrinsics_add)
        intr, note = self._cameras[key]
        quiet = given is None and self.layout.startswith("nyudv2") and same_aspect(*NYU_SIZE, w, h)
        if note and not quiet:  # the NYUv2 camera is this layout's documented default; a guess is not
            self.note(note)
        return intr


# --- shared by the readers: splits, and checking that listed files are there ---------------------

ALL = "all"  # the split that means every sample of the folder (when there is no all.txt)


def split_lists(root: Path) -> list[str]:
    """The splits a folder lists (train, test, ...: the names of its .txt files)."""
    try:
        return sorted(p.stem for p in root.glob("*.txt") if p.is_file())
    except OSError:
        return []


def missing_split(root: Path, split: str, everything: str = "every image in RGB/") -> DatasetError:
    have = split_lists(root)
    here = f"splits here: {', '.join(have)}" if have else "no split lists here"
    return DatasetError(f"no {split}.txt in {root} ({here}; '{ALL}' is {everything})")


def unreadable(path: Path, e: OSError, fix: str = "make it readable, or drop the sample from the list") -> DatasetError:
    """One line for a file the dataset needs but cannot read: a score would be wrong without
    it, so evaluation and training stop rather than skip it."""
    why = "permission denied" if isinstance(e, PermissionError) else (e.strerror or str(e)).lower()
    return DatasetError(f"cannot read {path}: {why} ({fix})")


def check_files(ds: SegDataset, layout_hint: str) -> None:
    """Every listed file exists and is readable, else one line naming the first that is not; a
    folder that cannot be searched makes its files unreadable, not missing."""
    missing: list[Path] = []
    bad: list[tuple[Path, OSError]] = []
    for p in (p for f in ds.files for p in (f.image, f.depth, f.label) if p is not None):
        try:
            if not p.is_file():
                missing.append(p)
            elif not os.access(p, os.R_OK):
                bad.append((p, PermissionError(errno.EACCES, "Permission denied")))
        except OSError as e:
            bad.append((p, e))
    if missing:
        raise DatasetError(
            f"dataset {ds.root}: {len(missing)} file(s) listed but missing, first {missing[0]} ({layout_hint})"
        )
    if bad:
        raise unreadable(*bad[0])
