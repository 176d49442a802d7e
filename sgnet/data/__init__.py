"""Dataset readers (NYUDv2 in its two common layouts), and several folders read as one."""

from sgnet.data.concat import ConcatSegDataset, concat_datasets
from sgnet.data.nyudv2 import RGBDSample, SegDataset, open_dataset

__all__ = ["ConcatSegDataset", "RGBDSample", "SegDataset", "concat_datasets", "open_dataset"]
