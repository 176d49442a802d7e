"""TUM RGB-D sequences (rgbd_dataset_freiburg1_xyz/ ...): rgb.txt and depth.txt list
"timestamp path" lines ('#' starts a comment); rgb/<t>.png, depth/<t>.png (uint16, 5000 units
per metre: depth scale 0.0002 m), depth registered to colour, 640x480.

Colour and depth frames are paired as TUM's associate.py does: every pair closer than 0.02 s is a
candidate, the closest candidates are taken first, each frame is used once, and the pairs are
sorted by colour timestamp. Intrinsics are TUM's published colour calibration for the
freiburg1/2/3 sensor named in the folder's name; an unnamed sensor gets TUM's default
(fx = fy = 525, centre 319.5, 239.5) and a note. There are no labels.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from sgnet.data.base import SampleFiles, SegDataset
from sgnet.data.intrinsics import Camera
from sgnet.errors import DatasetError
from sgnet.frames import Intrinsics

DEPTH_SCALE = 1.0 / 5000.0
MAX_DIFFERENCE = 0.02  # seconds, associate.py's default
CAMERAS: dict[str, Camera] = {  # fx, fy, cx, cy of the colour camera, from the TUM RGB-D website
    "freiburg1": (517.3, 516.5, 318.6, 255.3),
    "freiburg2": (520.9, 521.0, 325.1, 249.7),
    "freiburg3": (535.4, 539.2, 320.1, 247.6),
}
DEFAULT_CAMERA: Camera = (525.0, 525.0, 319.5, 239.5)
HINT = "a TUM RGB-D sequence needs rgb.txt and depth.txt"


def is_sequence(d: Path) -> bool:
    return (d / "rgb.txt").is_file() and (d / "depth.txt").is_file()


def read_stamps(path: Path) -> list[tuple[float, str]]:
    """(timestamp, path) per line of a TUM list; comments and blank lines skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.replace(",", " ").split()
        if not fields or fields[0].startswith("#"):
            continue
        try:
            out.append((float(fields[0]), fields[1]))
        except (ValueError, IndexError):
            raise DatasetError(f"{path}:{n}: expected 'timestamp path', got {line.strip()!r}") from None
    return out


def associate(first: list[float], second: list[float], max_difference: float = MAX_DIFFERENCE) -> list[tuple[int, int]]:
    """Index pairs (i, j), each index used once, closest first, |first[i] - second[j]| < max_difference,
    sorted by first[i] — associate.py's matching, without its O(n*m) candidate search."""
    order = np.argsort(second, kind="stable")
    s = np.asarray(second, np.float64)[order]
    candidates = []
    for i, a in enumerate(first):
        lo, hi = np.searchsorted(s, a - max_difference, "right"), np.searchsorted(s, a + max_difference, "left")
        candidates += [(abs(a - s[k]), i, int(order[k])) for k in range(lo, hi) if abs(a - s[k]) < max_difference]
    candidates.sort()
    used_i, used_j, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.append((i, j))
    return sorted(pairs, key=lambda p: first[p[0]])


def sensor_camera(folder: Path) -> tuple[str | None, Camera]:
    """TUM's colour intrinsics for the sensor the folder's name gives ("freiburg2", "fr2")."""
    m = re.search(r"(?:freiburg|(?<![a-z])fr)([123])(?!\d)", folder.resolve().name.lower())
    return (f"freiburg{m.group(1)}", CAMERAS[f"freiburg{m.group(1)}"]) if m else (None, DEFAULT_CAMERA)


class TumDataset(SegDataset):
    """Frames carry their colour timestamp (device_ts_ms) and the sensor's intrinsics; no labels."""


def open_tum(data: Path, depth_scale: float | None = None, intrinsics: Intrinsics | None = None) -> TumDataset:
    rgb, depth = read_stamps(data / "rgb.txt"), read_stamps(data / "depth.txt")
    pairs = associate([t for t, _ in rgb], [t for t, _ in depth])
    if not pairs:
        raise DatasetError(
            f"no frames in {data}: no rgb.txt entry has a depth.txt entry within {MAX_DIFFERENCE} s ({HINT})"
        )
    sensor, camera = sensor_camera(data)
    notes = []
    if sensor is None and intrinsics is None:
        notes.append(f"{data.name} names no TUM sensor (freiburg1/2/3): using TUM's default intrinsics "
                     "fx = fy = 525, centre (319.5, 239.5); rename the folder or give intrinsics for correct 3D")
    left = len(rgb) - len(pairs)
    if left:
        notes.append(f"{left} of {len(rgb)} colour frames have no depth frame within {MAX_DIFFERENCE} s: left out")
    files = [
        SampleFiles(Path(rgb[i][1]).stem, data / rgb[i][1], data / depth[j][1], None, camera, rgb[i][0])
        for i, j in pairs
    ]
    return TumDataset(
        data, files, "tum", DEPTH_SCALE if depth_scale is None else depth_scale, intrinsics, notes=notes,
        label_classes="", no_labels=f"{data} is a TUM RGB-D sequence, which has no labels",
    )
