"""A contact sheet of labelled real frames: colour | ground truth | before | after.

Two sets of weights segment the same frames of a labelled dataset (any layout `sgnet eval`
reads), as sgnet-live runs them, in one class set (default NYUv2-13), so a change of model can
be looked at, not only scored. Used for docs/real_frames.png:

    .venv/bin/python scripts/real_sheet.py ../shared/reference/real-val docs/real_frames.png \\
        --before runs/old.safetensors --frames 0,6,12,19,23

With `--after-fill-holes` the 'after' column in-paints the depth's holes first (sgnet-live
--fill-holes); `--show-depth` adds the depth (holes black) after the colour.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
from demo_sheet import write_sheet  # scripts/ is on the path when a script runs

from app.render import colorize_depth, colorize_labels, side_by_side
from assets.classes import get_class_set
from sgnet.data import open_dataset
from sgnet.segmenter import Segmenter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="a labelled dataset folder")
    ap.add_argument("out", type=Path)
    ap.add_argument("--before", required=True, help="weights of the 'before' column")
    ap.add_argument("--after", default=None, help="weights of the 'after' column (default: the shipped ones)")
    ap.add_argument("--model", default="sgnet_lite")
    ap.add_argument("--classes", default="nyu13")
    ap.add_argument("--frames", default="0,6,12,19,23", help="comma list of sample indices (split 'all')")
    ap.add_argument("--depth-scale", type=float, default=None, help="metres per depth unit (default: the layout's)")
    ap.add_argument("--scale", type=float, default=0.5, help="size of the sheet relative to the frames")
    ap.add_argument("--after-fill-holes", action="store_true", help="the 'after' column in-paints depth holes first")
    ap.add_argument("--show-depth", action="store_true", help="a depth column (near blue, holes black)")
    args = ap.parse_args()
    ds = open_dataset(args.data, split="all", depth_scale=args.depth_scale, need_labels=True)
    before = Segmenter(args.model, weights=args.before, classes=args.classes, device="cpu")
    after = Segmenter(args.model, weights=args.after, classes=args.classes, device="cpu",
                      fill_holes=args.after_fill_holes)
    truth_ids = before.classes.lookup_from(get_class_set(ds.label_classes))  # 256 entries, 255 stays 255
    rows = []
    for i in (int(v) for v in args.frames.split(",")):
        sample = ds[i]
        truth = truth_ids[sample.label]
        depth = [colorize_depth(sample.frame.depth, sample.frame.depth_scale)] if args.show_depth else []
        row = side_by_side(
            sample.frame.color,
            *depth,
            colorize_labels(truth, before.classes),
            colorize_labels(before.segment(sample.frame).labels, before.classes),
            colorize_labels(after.segment(sample.frame).labels, after.classes),
        )
        rows.append(cv2.resize(row, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_AREA))
    write_sheet(rows, args.out)


if __name__ == "__main__":
    main()
