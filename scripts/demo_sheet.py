"""A contact sheet of the demo clip: colour | depth | rendered labels | the model's prediction.

Both label columns are drawn in the model's class set (the rendered labels are NYUv2-40 by
construction and are mapped into it, e.g. with --classes nyu13), so equal colours mean equal classes.

    .venv/bin/python scripts/demo_sheet.py docs/demo_clip.png --frames 0,60,110,170
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from app.live import LiveOptions, load_segmenter
from app.render import colorize_depth, colorize_labels, side_by_side
from app.sources.demo import DemoSource
from assets import nyu40


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--frames", default="0,60,110,170", help="comma list of clip frame indices")
    ap.add_argument("--model", default="sgnet_lite")
    ap.add_argument("--weights", default=None, help="default: the shipped demo weights")
    ap.add_argument("--classes", default=None, help="class set to draw (nyu40, nyu13, ...); default: the model's")
    args = ap.parse_args()
    seg = load_segmenter(LiveOptions(model=args.model, weights=args.weights, classes=args.classes, device="cpu"))
    truth_ids = seg.classes.lookup_from(nyu40())  # rendered NYU40 ids -> the model's set
    src = DemoSource()
    rows = []
    for i in (int(v) for v in args.frames.split(",")):
        frame = src.frame(i)
        pred = seg.segment(frame)
        rows.append(side_by_side(
            frame.color, colorize_depth(frame.depth, frame.depth_scale),
            colorize_labels(truth_ids[src.ground_truth(i)], seg.classes), colorize_labels(pred.labels, pred.classes),
        ))
    write_sheet(rows, args.out)


def write_sheet(rows: list[np.ndarray], out: Path) -> None:
    """RGB rows stacked into one PNG (checked: a failed write ends the script with its path)."""
    sheet = np.concatenate(rows, axis=0)
    if not cv2.imwrite(str(out), np.ascontiguousarray(sheet[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise SystemExit(f"cannot write {out}")
    print(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
