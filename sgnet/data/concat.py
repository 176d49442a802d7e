"""Several datasets read as one, so renders made with different seeds (or a real dataset plus
synthetic frames) train together without copying or renaming files."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from sgnet.data.base import RGBDSample, SampleFiles, SegDataset
from sgnet.errors import DatasetError
from sgnet.frames import RGBDFrame


def _one_class_set(parts: Sequence[SegDataset]) -> str | None:
    """The class set the parts' labels share (the first part's name for it), or DatasetError. Sets are
    compared by their classes, not by how they are named: folders that each carry their own copy of
    a classes.json (`sgnet distill` writes one per source) hold labels in one set."""
    from assets.classes import ClassSetError, get_class_set

    found: dict[object, str] = {}
    for p in parts:
        spec = p.label_classes or "nyu40"
        try:
            key: object = get_class_set(spec).names
        except ClassSetError:  # unreadable: whoever reads it says why; here it only differs from the rest
            key = spec
        found.setdefault(key, spec)
    if len(found) > 1:
        raise DatasetError(f"the datasets hold labels in different class sets ({', '.join(sorted(found.values()))})")
    return next(iter(found.values()), None)


class ConcatSegDataset:
    """The samples of `parts` in order; each part keeps its own root, intrinsics and depth scale.
    Their labels must be in one class set: ids of two sets mixed would train or score nonsense."""

    def __init__(self, parts: Sequence[SegDataset]) -> None:
        if not parts:
            raise ValueError("ConcatSegDataset needs at least one dataset")
        self.parts = list(parts)
        self.label_classes = _one_class_set([p for p in self.parts if p.has_labels]) or self.parts[0].label_classes
        self.layout = "+".join(dict.fromkeys(p.layout for p in self.parts))
        self._ends = list(accumulate(len(p) for p in self.parts))

    @property
    def has_labels(self) -> bool:
        return all(p.has_labels for p in self.parts)

    @property
    def files(self) -> list[SampleFiles]:
        return [f for p in self.parts for f in p.files]

    @property
    def notes(self) -> list[str]:
        return [n for p in self.parts for n in p.notes]

    def __len__(self) -> int:
        return self._ends[-1]

    def _locate(self, i: int) -> tuple[SegDataset, int]:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} out of range for {len(self)} samples")
        k = bisect.bisect_right(self._ends, i)
        return self.parts[k], i - (self._ends[k - 1] if k else 0)

    def __getitem__(self, i: int) -> RGBDSample:
        part, j = self._locate(i)
        return part[j]

    def read_frame(self, i: int) -> RGBDFrame:
        part, j = self._locate(i)
        return part.read_frame(j)

    def read_label(self, i: int) -> np.ndarray:
        part, j = self._locate(i)
        return part.read_label(j)


def concat_datasets(parts: Sequence[SegDataset]) -> SegDataset | ConcatSegDataset:
    """One dataset stays itself; several become a `ConcatSegDataset`."""
    return parts[0] if len(parts) == 1 else ConcatSegDataset(parts)
