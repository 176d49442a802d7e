"""Render the embedded demo clip (assets/demo_clip.zip): camera walks through a few synthetic
rooms, one room type each, rendered by `sgnet synth`'s renderer with a seed that no training
set uses, so the demo shows the model on rooms it has never seen.

    .venv/bin/python scripts/make_demo_clip.py assets/demo_clip.zip --seed 3001
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from rich.progress import Progress

from app.sources.clip import ClipFrame, write_clip
from app.synth.dataset import SynthConfig, fly_through_frames
from app.synth.rooms import ROOM_TYPES


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=3001)
    ap.add_argument("--rooms", default="living,bedroom,office,kitchen", help="room types, in playing order")
    ap.add_argument("--frames-per-room", type=int, default=50)
    ap.add_argument("--size", default="240x320", help="HEIGHTxWIDTH")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--jpeg-quality", type=int, default=90)
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.lower().split("x"))
    kinds = [k.strip() for k in args.rooms.split(",") if k.strip()]
    bad = [k for k in kinds if k not in ROOM_TYPES]
    if bad:
        ap.error(f"unknown room types {bad}; choose from {','.join(ROOM_TYPES)}")

    def frames():
        with Progress() as progress:
            task = progress.add_task("rendering", total=len(kinds) * args.frames_per_room)
            for i, kind in enumerate(kinds):
                cfg = SynthConfig(out=args.out.parent, frames=1, height=h, width=w, seed=args.seed, room_types=(kind,))
                for f in fly_through_frames(cfg, i, args.frames_per_room):
                    # clean depth (mm) where the sensor model gave a value; read_clip adds the noise back
                    clean = np.where(f.depth > 0, np.round(np.nan_to_num(f.depth_true, posinf=0.0) * 1000.0), 0)
                    yield ClipFrame(f.color, np.clip(clean, 0, 65535).astype(np.uint16), f.labels)
                    progress.advance(task)

    t0 = time.perf_counter()
    cfg = SynthConfig(out=args.out.parent, frames=1, height=h, width=w, seed=args.seed)
    meta = {
        "made_by": "scripts/make_demo_clip.py",
        "seed": args.seed,
        "rooms": kinds,
        "frames_per_room": args.frames_per_room,
    }
    n = write_clip(
        args.out, frames(), cfg.intrinsics(), fps=args.fps, meta=meta, jpeg_quality=args.jpeg_quality,
        noise_seed=args.seed,
    )
    size_mb = args.out.stat().st_size / 2**20
    print(f"wrote {n} frames to {args.out} ({size_mb:.1f} MB) in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
