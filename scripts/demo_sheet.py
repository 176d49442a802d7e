"""A contact sheet of the demo clip: colour | depth | rendered labels | the model's prediction.

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--frames", default="0,60,110,170", help="comma list of clip frame indices")
    ap.add_argument("--model", default="sgnet_lite")
    ap.add_argument("--weights", default=None, help="default: the shipped demo weights")
    args = ap.parse_args()
    seg = load_segmenter(LiveOptions(model=args.model, weights=args.weights, device="cpu"))
    src = DemoSource()
    rows = []
    for i in (int(v) for v in args.frames.split(",")):
        frame = src.frame(i)
        pred = seg.segment(frame).labels
        rows.append(side_by_side(
            frame.color, colorize_depth(frame.depth, frame.depth_scale),
            colorize_labels(src.ground_truth(i)), colorize_labels(pred),
        ))
    sheet = np.concatenate(rows, axis=0)
    if not cv2.imwrite(str(args.out), np.ascontiguousarray(sheet[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise SystemExit(f"cannot write {args.out}")
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
