"""Several NYUDv2-format folders read as one dataset, so renders made with different seeds (or
a real dataset plus synthetic frames) train together without copying or renaming files."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from sgnet.data.nyudv2 import RGBDSample, SegDataset


class ConcatSegDataset:
    """The samples of `parts` in order; each part keeps its own root, intrinsics and depth scale."""

    def __init__(self, parts: Sequence[SegDataset]) -> None:
        if not parts:
            raise ValueError("ConcatSegDataset needs at least one dataset")
        self.parts = list(parts)
        self._ends = list(accumulate(len(p) for p in self.parts))

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

    def read_label(self, i: int) -> np.ndarray:
        part, j = self._locate(i)
        return part.read_label(j)


def concat_datasets(parts: Sequence[SegDataset]) -> SegDataset | ConcatSegDataset:
    """One dataset stays itself; several become a `ConcatSegDataset`."""
    return parts[0] if len(parts) == 1 else ConcatSegDataset(parts)
