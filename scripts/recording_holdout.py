"""A held-out test folder from rendered recordings: the frames a distill run did not label.

`sgnet distill --every 3` labels frames 0, 3, 6, ... of each recording; frames with index
i % 6 == 1 are never among them, and `sgnet synth --recording REC.db3` knows their ground truth
(`REC.labels/`). This writes those frames as a NYUDv2-format folder (RGB/, Depth/ in mm, Label/
NYU40 1-based, intrinsics.json, test.txt) that `sgnet eval` and `--val-data` read: the "own rooms"
set of docs/distill.md.

    .venv/bin/python scripts/recording_holdout.py data/vid/rec100{0,1,2,3,4,5}.db3 --out data/own-rooms
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from app.distill.pseudo import write_sample
from app.files import partial_path
from app.synth.recording import read_recording
from app.synth.truth import read_truth, truth_folder
from sgnet.frames import NO_PREDICTION, RGBDFrame


def add_recording(rec: Path, out: Path, every: int, offset: int) -> tuple[list[str], dict]:
    """Write the held-out frames of one recording into `out`; their names and the intrinsics."""
    truth = read_truth(truth_folder(rec))
    names, seen = [], 0
    for frame in read_recording(rec):
        seen += 1
        i = frame.index  # the recorded frame number, as REC.labels/ names it (a lost frame shifts nothing)
        if i % every != offset:
            continue
        labels = truth.labels(i)
        if labels is None:
            raise ValueError(f"{truth.folder} has no labels for frame {i}")
        name = f"{rec.stem}_{i:06d}"
        nyu40 = np.where(labels == NO_PREDICTION, 0, labels.astype(np.int32) + 1).astype(np.uint8)
        write_sample(out, name, RGBDFrame(frame.color, frame.depth, frame.depth_units, truth.intrinsics, i), nyu40)
        names.append(name)
    if seen < len(truth.poses):
        print(f"{rec}: {len(truth.poses) - seen} of {len(truth.poses)} frames were not read back", file=sys.stderr)
    return names, dataclasses.asdict(truth.intrinsics)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recordings", nargs="+", type=Path, help="REC.db3 / REC.bag with REC.labels/ beside them")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--every", type=int, default=6, help="keep frame i where i %% EVERY == OFFSET (default 6)")
    ap.add_argument("--offset", type=int, default=1, help="(default 1: never a frame of distill --every 3)")
    args = ap.parse_args()
    if not 0 <= args.offset < args.every:
        print(f"recording_holdout: need 0 <= --offset < --every, got {args.offset} and {args.every}", file=sys.stderr)
        return 2
    if args.out.exists():
        print(f"recording_holdout: {args.out} exists: choose another --out or remove it", file=sys.stderr)
        return 2
    tmp = partial_path(args.out)
    try:
        for sub in ("RGB", "Depth", "Label"):
            (tmp / sub).mkdir(parents=True)
        names, intrinsics = [], None
        for rec in args.recordings:
            got, intr = add_recording(rec, tmp, args.every, args.offset)
            if intrinsics is not None and intr != intrinsics:
                raise ValueError(f"{rec} has other intrinsics than {args.recordings[0]}: one folder holds one camera")
            intrinsics = intr
            names += got
            print(f"{rec}: {len(got)} frames", flush=True)
        (tmp / "intrinsics.json").write_text(json.dumps(intrinsics, indent=1) + "\n")
        (tmp / "test.txt").write_text("\n".join(names) + "\n")
        (tmp / "train.txt").write_text("")
        tmp.rename(args.out)
    except (OSError, ValueError, RuntimeError) as e:  # nothing half-written is left behind
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"recording_holdout: {e}", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(names)} held-out frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
