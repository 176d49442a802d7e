"""Video modes side by side on labelled sequences: mIoU, compute per frame and flicker.

A mode is written `INTERVAL[/flow|/reproject][/raw][/smooth]`: `1` is the plain Segmenter (every
frame through the network, no temporal layer), `3` a keyframe every third frame carried by
reprojection and refined, `3/flow/raw` carried by optical flow without refinement, `auto/smooth`
keyframes on demand with temporal smoothing. All modes run *interleaved frame by frame* on one
Segmenter (each with its own state), so a busy machine slows them alike.

Compute per frame is the sum of the five stages (upload, spatial, model, propagate, postprocess).
It is reported as the mean over frames and as a load-robust estimate: the keyframe share times
the median keyframe cost plus the rest times the median propagated-frame cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sgnet.errors import SGNetUserError
from sgnet.frames import SEGMENT_STAGES, RGBDFrame
from sgnet.temporal.metrics import compensated_changes, confusion_with_misses, mean_iou
from sgnet.temporal.policy import KeyframePolicy, parse_interval
from sgnet.temporal.video import VideoOptions, VideoSegmenter


def parse_mode(text: str, refiner_weights=None) -> VideoOptions | None:
    """`3/flow/raw` -> VideoOptions; `1` -> None (the plain Segmenter). One line for a bad mode."""
    parts = [p for p in text.strip().lower().split("/") if p]
    if not parts:
        raise SGNetUserError("an empty video mode; write e.g. 1, 3, 3/flow, 3/raw, auto/smooth")
    interval = parse_interval(parts[0], f"mode {text!r}: the interval")
    method, refine, smooth = "reproject", True, False
    for p in parts[1:]:
        if p in ("flow", "reproject"):
            method = p
        elif p == "raw":
            refine = False
        elif p == "smooth":
            smooth = True
        else:
            raise SGNetUserError(f"mode {text!r}: unknown part {p!r}; use flow, reproject, raw or smooth after the "
                                 "interval (e.g. 3/flow/raw)")
    if interval == 1 and not smooth:
        return None
    return VideoOptions(KeyframePolicy(interval), method=method, refine=refine, smooth=smooth,
                        refiner_weights=refiner_weights)


@dataclass(frozen=True)
class LabelledSequence:
    """One labelled sequence: consecutive frames, their truth (uint8, 255 = none), camera-to-world poses."""

    name: str
    frames: list[RGBDFrame]
    truth: list[np.ndarray]
    poses: np.ndarray


@dataclass
class ModeResult:
    mode: str
    frames: int = 0
    keyframes: int = 0
    hist: np.ndarray | None = None
    compute_ms: list[float] = field(default_factory=list)
    key_ms: list[float] = field(default_factory=list)
    carried_ms: list[float] = field(default_factory=list)
    propagate_ms: list[float] = field(default_factory=list)
    changed: int = 0
    compared: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def miou(self) -> float:
        return mean_iou(self.hist) if self.hist is not None else float("nan")

    @property
    def flicker(self) -> float:
        return self.changed / self.compared if self.compared else float("nan")

    @property
    def mean_ms(self) -> float:
        return float(np.mean(self.compute_ms)) if self.compute_ms else float("nan")

    @property
    def robust_ms(self) -> float:
        """Keyframe share x median keyframe cost + the rest x median carried-frame cost."""
        share = self.keyframes / max(self.frames, 1)
        key = float(np.median(self.key_ms)) if self.key_ms else 0.0
        carried = float(np.median(self.carried_ms)) if self.carried_ms else 0.0
        return share * key + (1.0 - share) * carried

    def as_dict(self) -> dict:
        return {"mode": self.mode, "frames": self.frames, "keyframes": self.keyframes, "miou": self.miou,
                "mean_ms": self.mean_ms, "robust_ms": self.robust_ms,
                "median_keyframe_ms": float(np.median(self.key_ms)) if self.key_ms else None,
                "median_carried_ms": float(np.median(self.carried_ms)) if self.carried_ms else None,
                "median_propagate_ms": float(np.median(self.propagate_ms)) if self.propagate_ms else None,
                "flicker": self.flicker, "flicker_pixels": self.compared, "keyframe_reasons": self.reasons}


def run_modes(segmenter, sequences: Sequence[LabelledSequence], modes: Sequence[str], num_classes: int,
              refiner_weights=None, on_frame=None) -> tuple[list[ModeResult], float]:  # fmt: skip
    """Every mode over every sequence, interleaved frame by frame -> (results, ground truth flicker)."""
    options = [parse_mode(m, refiner_weights) for m in modes]
    results = [ModeResult(m, hist=np.zeros((num_classes, num_classes + 1), np.int64)) for m in modes]
    truth_flicker = [0, 0]
    for seq in sequences:
        runners = [segmenter if o is None else VideoSegmenter(segmenter, o) for o in options]
        prev: list[np.ndarray | None] = [None] * len(modes)
        for t, frame in enumerate(seq.frames):
            motion = np.linalg.inv(seq.poses[t - 1]) @ seq.poses[t] if t else None
            k = frame.intrinsics.matrix()
            if t:
                c, n = compensated_changes(seq.truth[t - 1], seq.truth[t], seq.frames[t - 1].depth_m(),
                                           frame.depth_m(), k, motion)
                truth_flicker[0] += c
                truth_flicker[1] += n
            for i, (runner, res) in enumerate(zip(runners, results, strict=True)):
                seg = runner.segment(frame)
                total = sum(float(seg.timings.get(s, 0.0)) for s in SEGMENT_STAGES)
                res.frames += 1
                res.keyframes += int(seg.keyframe)
                res.compute_ms.append(total)
                (res.key_ms if seg.keyframe else res.carried_ms).append(total)
                if "propagate" in seg.timings and not seg.keyframe:
                    res.propagate_ms.append(float(seg.timings["propagate"]))
                res.hist += confusion_with_misses(seq.truth[t], seg.labels, num_classes)
                if prev[i] is not None:
                    c, n = compensated_changes(prev[i], seg.labels, seq.frames[t - 1].depth_m(), frame.depth_m(), k,
                                               motion)
                    res.changed += c
                    res.compared += n
                prev[i] = seg.labels
            if on_frame is not None:
                on_frame()
        for runner, res in zip(runners, results, strict=True):
            for why, n in getattr(runner, "reasons", {}).items():
                res.reasons[why] = res.reasons.get(why, 0) + n
    return results, truth_flicker[0] / max(truth_flicker[1], 1)
