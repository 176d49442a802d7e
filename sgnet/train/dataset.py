"""NYUDv2-format samples -> augmented training tensors (xyz is computed later, on the device)."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from sgnet.data import SegDataset
from sgnet.train.augment import AugmentConfig, Sample, augment


class TrainSet(Dataset):
    """Wraps a `SegDataset`: reads a sample, augments it with a per-(seed, epoch, index) RNG
    (reproducible, and different on every epoch), and returns host tensors:
    color uint8 (H, W, 3), depth float32 metres (H, W), label int64 (H, W), intrinsics float64 (4,)."""

    def __init__(self, data: SegDataset, cfg: AugmentConfig, seed: int = 0) -> None:
        self.data, self.cfg, self.seed = data, cfg, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = self.data[i]
        f = item.frame
        sample = Sample(np.asarray(f.color), f.depth_m(), np.asarray(item.label), f.intrinsics.as_tuple())
        sample = augment(sample, self.cfg, np.random.default_rng([self.seed, self.epoch, i]))
        return {
            "color": torch.from_numpy(np.ascontiguousarray(sample.color)),
            "depth": torch.from_numpy(np.ascontiguousarray(sample.depth)),
            "label": torch.from_numpy(sample.label.astype(np.int64)),
            "intrinsics": torch.tensor(sample.intrinsics, dtype=torch.float64),
        }
