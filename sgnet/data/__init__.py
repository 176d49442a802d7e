"""Dataset readers behind one interface (`SegDataset`), detected by layout: NYUDv2 (folder and
official list), SUN RGB-D, ScanNet exported frames, TUM RGB-D; and several datasets read as one.
See docs/datasets.md."""

from sgnet.data.base import DatasetWarning, RGBDSample, SampleFiles, SegDataset, map_labels
from sgnet.data.concat import ConcatSegDataset, concat_datasets
from sgnet.data.detect import LAYOUTS, detect_layout, open_dataset
from sgnet.data.files import FileReadError
from sgnet.data.intrinsics import fit_intrinsics, nyu_intrinsics, read_intrinsics_json

__all__ = [
    "LAYOUTS",
    "ConcatSegDataset",
    "DatasetWarning",
    "FileReadError",
    "RGBDSample",
    "SampleFiles",
    "SegDataset",
    "concat_datasets",
    "detect_layout",
    "fit_intrinsics",
    "map_labels",
    "nyu_intrinsics",
    "open_dataset",
    "read_intrinsics_json",
]
