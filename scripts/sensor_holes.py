"""A labelled dataset's depth as a RealSense-like stereo sensor would deliver it: the probe
behind `--fill-holes` (docs/demo-model.md).

NYUv2's labelled frames carry in-painted depth without a single hole; a live RealSense's
depth has them. This copies a dataset folder (any layout `sgnet eval` reads whose files sit
in RGB/ and Depth/ style folders) and passes every depth map through the renderer's own
sensor model (`app.synth.sensor.realsense_depth`: stereo shadows left of near objects, ragged
holes at depth edges, range limits, dropout blobs, speckle, z² noise and disparity steps),
one generator per frame from `--seed`, so a run is reproducible. Colour and labels are copied
unchanged; materials are unknown here, so glass gets no extra holes. `--speckle P` raises the
share of isolated single-pixel holes from the model's 0.2 % (a sensor on dark, shiny or
textureless surfaces drops many more).

    .venv/bin/python scripts/sensor_holes.py ../shared/reference/real-val data/real-val-holes --depth-scale 0.001
    .venv/bin/python scripts/sensor_holes.py ../shared/reference/real-val data/real-val-speckle --depth-scale 0.001 \\
        --speckle 0.1
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from app.files import partial_path
from app.synth.sensor import DepthModel, realsense_depth
from sgnet.data import open_dataset


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="a dataset folder with depth")
    ap.add_argument("out", type=Path, help="a new folder (must not exist)")
    ap.add_argument("--depth-scale", type=float, default=None, help="metres per depth unit (default: the layout's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speckle", type=float, default=DepthModel().speckle,
                    help="share of isolated single-pixel holes (default: the renderer's)")
    args = ap.parse_args()
    if args.out.exists():
        print(f"sensor_holes: {args.out} exists: choose a new folder", file=sys.stderr)
        return 2
    if not 0.0 <= args.speckle < 1.0:
        print(f"sensor_holes: --speckle must be in [0, 1), got {args.speckle}", file=sys.stderr)
        return 2
    model = dataclasses.replace(DepthModel(), speckle=args.speckle)
    ds = open_dataset(args.data, split="all", depth_scale=args.depth_scale)
    tmp = partial_path(args.out)  # renamed to OUT when every map is written: no half-made folder is left
    try:
        # file contents only, then writable folders: a read-only source (a shared reference) stays usable
        shutil.copytree(args.data, tmp, copy_function=shutil.copyfile)
        for folder in (tmp, *(d for d in tmp.rglob("*") if d.is_dir())):
            folder.chmod(0o755)
        holes, source_holes = [], []
        for i in range(len(ds)):
            frame = ds[i].frame
            depth_m = frame.depth.astype(np.float64) * frame.depth_scale
            depth_m[frame.depth == 0] = np.inf
            rng = np.random.default_rng([args.seed, i])
            mm = realsense_depth(depth_m, np.zeros(depth_m.shape), frame.intrinsics, rng, model)
            units = np.round(mm.astype(np.float64) * 0.001 / frame.depth_scale).astype(np.uint16)
            target = tmp / ds.files[i].depth.relative_to(args.data)
            if not cv2.imwrite(str(target), units):
                raise OSError(f"cannot write {target}")
            holes.append(float((units == 0).mean()))
            source_holes.append(float((frame.depth == 0).mean()))
        tmp.rename(args.out)
    except (OSError, KeyboardInterrupt) as e:  # a write failed or Ctrl-C: the partial folder goes, OUT never was
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, KeyboardInterrupt):
            print(f"sensor_holes: interrupted; {args.out} was not written", file=sys.stderr)
            return 130
        if isinstance(e, shutil.Error):  # copytree's list of every file it could not copy: the first says why
            e = f"cannot copy {args.data} next to {args.out}: {str(e.args[0][0][2]).split(': ')[0]}"
        print(f"sensor_holes: {e}; {args.out} was not written", file=sys.stderr)
        return 1
    print(f"wrote {len(ds)} depth maps to {args.out}: {100 * np.mean(holes):.1f} % holes on average "
          f"(source {100 * np.mean(source_holes):.1f} %)")
    return 0

if __name__ == "__main__":
    sys.exit(main())
