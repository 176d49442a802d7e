"""Dataset readers (NYUDv2 in its two common layouts)."""

from sgnet.data.nyudv2 import RGBDSample, SegDataset, open_dataset

__all__ = ["RGBDSample", "SegDataset", "open_dataset"]
