"""A/B in one run: the app's case, sgnet_lite on 480x640 frames (model input 240x320), with the
Segmenter's labels at frame resolution (official) vs at input resolution, alternated per call.

Usage: python benchmarks/model_lite_app_labels.py OUT.json [RUNS]
"""

from __future__ import annotations

import json
import sys
import time

import torch

import sgnet
from sgnet.bench import TimingStats, environment, synthetic_frame
from sgnet.segmenter import STAGES


def main(out: str, runs: int = 40) -> None:
    frame = synthetic_frame(480, 640)
    segs = {"frame": sgnet.Segmenter("sgnet_lite", device="cpu")}
    segs["input"] = sgnet.Segmenter(segs["frame"].module, device="cpu", label_resolution="input")
    times = {name: {k: [] for k in (*STAGES, "total")} for name in segs}
    for _ in range(10):  # warm-up
        for seg in segs.values():
            seg.segment(frame)
    for _ in range(runs):
        for name, seg in segs.items():
            t0 = time.perf_counter()
            result = seg.segment(frame)
            times[name]["total"].append((time.perf_counter() - t0) * 1000)
            for k in STAGES:
                times[name][k].append(result.timings[k])
    results = {n: {k: TimingStats.of(v).as_dict() for k, v in d.items()} for n, d in times.items()}
    payload = {
        "what": "sgnet_lite Segmenter, 480x640 frame -> 240x320 input, label_resolution frame vs input, alternated",
        "environment": environment(torch.device("cpu")),
        "runs": runs,
        "results": results,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2)
    for name, r in results.items():
        print(name, {k: round(v["median_ms"], 1) for k, v in r.items()}, f"FPS {r['total']['fps']:.1f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)
