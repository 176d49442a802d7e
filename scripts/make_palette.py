"""Regenerate assets/nyu40.json's palette: 40 colors chosen greedily to be far apart in CIELAB.

Kept so the palette is reproducible; run `python scripts/make_palette.py` and review the diff.
The first (most frequent) classes get hand-picked, recognisable colors; the rest are chosen
to maximise the smallest CIELAB distance to every color already taken.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ASSET = Path(__file__).resolve().parents[1] / "assets" / "nyu40.json"

SEEDS = {  # class id -> RGB, recognisable for the big classes
    0: (174, 199, 232),  # wall: pale blue
    1: (152, 223, 138),  # floor: light green
    2: (31, 119, 180),  # cabinet
    3: (255, 187, 120),  # bed
    4: (188, 189, 34),  # chair
    5: (140, 86, 75),  # sofa
    6: (255, 152, 150),  # table
    21: (220, 220, 150),  # ceiling: pale yellow
}
NO_PREDICTION = (0, 0, 0)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def main() -> None:
    data = json.loads(ASSET.read_text())
    levels = np.arange(0, 256, 17)
    cand = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = srgb_to_lab(cand)
    # readable: not too dark (labels must show on an overlay), not near-white
    keep = (lab[:, 0] > 30) & (lab[:, 0] < 92)
    cand, lab = cand[keep], lab[keep]
    colors: dict[int, tuple[int, int, int]] = dict(SEEDS)
    taken = [srgb_to_lab(np.array(c)) for c in [*colors.values(), NO_PREDICTION]]
    for cid in range(40):
        if cid in colors:
            continue
        d = np.min(np.linalg.norm(lab[:, None, :] - np.array(taken)[None], axis=-1), axis=1)
        best = int(np.argmax(d))
        colors[cid] = tuple(int(v) for v in cand[best])
        taken.append(lab[best])
    data["colors"] = [list(colors[i]) for i in range(40)]
    data["no_prediction_color"] = list(NO_PREDICTION)
    ASSET.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
