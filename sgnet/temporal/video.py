"""`VideoSegmenter`: video mode as a layer around a `Segmenter`, with the same `segment(frame)` face.

Keyframes go through the network (`Segmenter.segment_with_probabilities`); the frames between get
the keyframe's class probabilities carried to them by a tracker (`sgnet.temporal.motion`: chained
optical flow, or RGB-D odometry and a reprojection through depth), refined by a small network that
sees the new frame (`sgnet.temporal.refiner`), and turned into labels and confidence exactly as a
keyframe's are (`sgnet.temporal.labels`). `smooth` also blends each frame's probabilities with the
previous frame's result carried along the motion (an exponential average), so labels on static
surfaces stop flickering. The pipeline cannot tell the frames apart except by
`Segmentation.keyframe` and the `propagate` timing.

State lives here, not in the Segmenter: a frame whose index does not follow the previous one
(a step back or a jump of more than `MAX_GAP_MS`: a seek, a new file, the start-up speed probe)
or whose size or intrinsics changed starts over with a keyframe, and `reset()` does the same on
demand. Frames a live camera dropped in between are carried across, so video mode raises the
processed frame rate there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgnet.errors import SGNetUserError
from sgnet.frames import SEGMENT_STAGES, RGBDFrame, Segmentation
from sgnet.temporal.geometry import frame_to_grid, sample_map, warp_probabilities
from sgnet.temporal.labels import contenders, labels_from_probabilities
from sgnet.temporal.motion import TRACKERS, Correspondence, View, make_view
from sgnet.temporal.policy import KeyframePolicy
from sgnet.temporal.refiner import Refiner, guide, load_refiner

STAGES = SEGMENT_STAGES  # every frame reports all five, propagate included
MAX_GAP_MS = 500.0  # how far apart (device time) two processed frames may be and still be carried across
MAX_GAP = 15  # the same in frames, for sources without timestamps
SHIPPED_REFINER = Path(__file__).resolve().parents[2] / "assets" / "refiner_synth.safetensors"


@dataclass(frozen=True)
class VideoOptions:
    """policy: when to run the network; method: `flow` or `reproject`; refine: the refinement network
    (`refiner_weights` None = the shipped one); smooth: temporal filtering with `smooth_weight` the
    share of the carried previous result."""

    policy: KeyframePolicy = field(default_factory=KeyframePolicy)
    method: str = "reproject"
    refine: bool = True
    refiner_weights: str | Path | None = None
    smooth: bool = False
    smooth_weight: float = 0.7

    def __post_init__(self) -> None:
        if self.method not in TRACKERS:
            raise SGNetUserError(f"unknown propagation method {self.method!r}; choose one of {', '.join(TRACKERS)}")
        if not 0.0 < self.smooth_weight < 1.0:
            raise SGNetUserError(f"smooth_weight must be between 0 and 1, got {self.smooth_weight}")

    def describe(self) -> str:
        """One line for the user: "keyframe every 3 frames, carried by reprojection + refinement"."""
        p = self.policy
        if p.auto:
            when = f"keyframes on demand (auto, at most every {p.max_interval} frames)"
        elif p.interval == 1:
            when = "every frame through the network"
        else:
            when = f"keyframe every {p.interval} frames"
        how = "optical flow" if self.method == "flow" else "depth reprojection"
        parts = [when] if p.interval == 1 else [when, f"carried by {how}" + (" + refinement" if self.refine else "")]
        if self.smooth:
            parts.append(f"smoothed over time (weight {self.smooth_weight:g})")
        return ", ".join(parts)


@dataclass
class _Key:
    """What is kept from the last keyframe."""

    probs: torch.Tensor  # (1, C, h, w) on the segmenter's device
    view: View
    confidence: float  # mean max probability on the model grid
    ids: torch.Tensor  # the classes that can win a pixel (`labels.contenders`): only these are carried


class VideoSegmenter:
    """Wraps a `Segmenter` (module docstring); reads like one (`SegmenterLike`, and any other
    attribute is the wrapped segmenter's)."""

    def __init__(self, segmenter: Any, options: VideoOptions | None = None) -> None:
        if not hasattr(segmenter, "segment_with_probabilities"):
            raise SGNetUserError(f"video mode needs a segmenter that returns class probabilities "
                                 f"(sgnet.Segmenter), got {type(segmenter).__name__}")
        self.segmenter = segmenter
        self.options = options or VideoOptions()
        self.refiner: Refiner | None = None
        if self.options.refine:
            path = self.options.refiner_weights or SHIPPED_REFINER
            try:
                self.refiner = load_refiner(path).to(segmenter.device)
            except (OSError, ValueError) as e:
                raise SGNetUserError(f"cannot load the refinement network: {e}") from None
        self.reset()

    # what the app reads from a segmenter
    model_name = property(lambda self: self.segmenter.model_name)
    device = property(lambda self: self.segmenter.device)
    precision = property(lambda self: self.segmenter.precision)
    weights = property(lambda self: self.segmenter.weights)
    classes = property(lambda self: self.segmenter.classes)

    def __getattr__(self, name: str) -> Any:  # engine_name, prepare, loaded, model_classes, model_size ...
        if name == "segmenter":
            raise AttributeError(name)
        return getattr(self.segmenter, name)

    def reset(self) -> None:
        """Forget the past: the next frame is a keyframe (a seek, a new source)."""
        self._tracker = TRACKERS[self.options.method](previous=self.options.smooth)
        self._key: _Key | None = None
        self._last: RGBDFrame | None = None
        self._since_key = 0
        self._smoothed: torch.Tensor | None = None
        self.reasons: dict[str, int] = {}  # why auto took its keyframes (counts)

    def _follows(self, frame: RGBDFrame) -> bool:
        """Whether `frame` continues the sequence: a later frame of the same camera at most `MAX_GAP_MS`
        of device time (without timestamps: `MAX_GAP` frames) on. A live camera (or --realtime) drops
        frames while the network runs, so the next frame processed after a keyframe is often several
        frames on: carrying across that gap is what makes video mode faster there (the tracker
        follows the larger step; what it cannot follow becomes "no prediction", or a keyframe under
        auto). A step back or a longer jump (a seek) starts over."""
        last = self._last
        if last is None or self._key is None or frame.intrinsics != last.intrinsics or frame.index <= last.index:
            return False
        if frame.device_ts_ms > last.device_ts_ms > 0:
            return frame.device_ts_ms - last.device_ts_ms <= MAX_GAP_MS
        return frame.index - last.index <= MAX_GAP

    def segment(self, frame: RGBDFrame) -> Segmentation:
        """Label one frame: through the network on a keyframe, carried from the last keyframe otherwise."""
        t0 = time.perf_counter()
        if not self._follows(frame):
            self.reset()
        self._last = frame
        o = self.options
        if self._key is None:
            return self._keyframe(frame, None, None, "start", t0)
        view = make_view(frame.color, frame.depth_m(), frame.intrinsics.matrix(), self._key.view.grid)
        due = o.policy.due(self._since_key + 1)
        corr = self._tracker.track(view) if (o.smooth or o.policy.auto or not due) else None
        if due:
            return self._keyframe(frame, view, corr, "interval", t0)
        if corr.lost:
            return self._keyframe(frame, view, corr, "lost", t0)
        carried, why = self._carry(frame, view, corr)
        if why is not None:
            return self._keyframe(frame, view, corr, why, t0)
        self._since_key += 1
        ids = self._key.ids
        if o.smooth:  # the average runs over every class: the previous frame may have had other contenders
            carried, ids = self._smooth(self._expand(carried), corr, frame), None
        timings = dict.fromkeys(STAGES, 0.0)
        timings["propagate"] = (time.perf_counter() - t0) * 1000.0
        return self._finish(frame, carried, timings, keyframe=False, ids=ids)

    def _keyframe(self, frame: RGBDFrame, view: View | None, corr: Correspondence | None, why: str,
                  t0: float) -> Segmentation:  # fmt: skip
        """Run the network on this frame and make it the new keyframe (`why`: what asked for it)."""
        propagate_ms = (time.perf_counter() - t0) * 1000.0
        seg, probs = self.segmenter.segment_with_probabilities(frame)
        t1 = time.perf_counter()
        if view is None:
            view = make_view(frame.color, frame.depth_m(), frame.intrinsics.matrix(), tuple(probs.shape[-2:]))
        self._tracker.keyframe(view)
        self._key = _Key(probs, view, float(probs.amax(dim=1).mean()), contenders(probs))
        self._since_key = 0
        self.reasons[why] = self.reasons.get(why, 0) + 1
        timings = {k: float(seg.timings.get(k, 0.0)) for k in STAGES}
        if not self.options.smooth:
            timings["propagate"] = propagate_ms + (time.perf_counter() - t1) * 1000.0
            return Segmentation(frame, seg.labels, timings, seg.classes, seg.confidence, keyframe=True)
        probs = self._smooth(probs, corr, frame)
        timings["propagate"] = propagate_ms + (time.perf_counter() - t1) * 1000.0
        return self._finish(frame, probs, timings, keyframe=True)

    def _finish(self, frame: RGBDFrame, probs: torch.Tensor, timings: dict[str, float], keyframe: bool,
                ids: torch.Tensor | None = None) -> Segmentation:  # fmt: skip
        t = time.perf_counter()
        labels, conf = labels_from_probabilities(probs, (frame.height, frame.width), self._label_size(frame), ids)
        timings["postprocess"] += (time.perf_counter() - t) * 1000.0
        return Segmentation(frame, labels, timings, self.classes, conf, keyframe=keyframe)

    # -- steps ----------------------------------------------------------------------------
    def _label_size(self, frame: RGBDFrame) -> tuple[int, int]:
        if getattr(self.segmenter, "label_resolution", "frame") == "input":
            return tuple(self.segmenter.model_size(frame.height, frame.width))
        return (frame.height, frame.width)

    def _expand(self, carried: torch.Tensor) -> torch.Tensor:
        """Carried probabilities of the keyframe's contenders -> all classes (0 for the others)."""
        key = self._key
        probs = carried.new_zeros((1, key.probs.shape[1], *carried.shape[-2:]))
        probs[:, key.ids] = carried  # a class that could not win the keyframe cannot win here either
        return probs

    def _carry(self, frame: RGBDFrame, view: View, corr: Correspondence) -> tuple[torch.Tensor | None, str | None]:
        """The keyframe's probabilities on this frame (refined; the keyframe's contending classes only, in
        the order of `_Key.ids`), or (None, reason) when auto wants a keyframe."""
        key = self._key
        size = (frame.height, frame.width)
        warped = warp_probabilities(key.probs[:, key.ids], corr.source, corr.valid, size)
        carried, invalid = warped, corr.invalid_share
        if self.refiner is not None:
            carried, invalid = self._refine(warped, view, corr, frame)
        policy = self.options.policy
        if policy.auto:
            drop = key.confidence - float(carried.amax(dim=1).mean())
            why = policy.why_new(invalid, corr.motion_px(view) / frame.width, drop)
            if why is not None:
                return None, why
        return carried, None

    def _refine(self, warped: torch.Tensor, view: View, corr: Correspondence, frame: RGBDFrame
                ) -> tuple[torch.Tensor, float]:  # fmt: skip
        """Refined probabilities and the share of pixels still without a prediction."""
        import cv2

        h, w = view.grid
        rgb = cv2.resize(frame.color, (w, h), interpolation=cv2.INTER_AREA)
        photo = photometric_error(self._key.view, view, corr)
        g = guide(rgb, view.grid_depth, corr.valid, photo, warped.amax(dim=1, keepdim=True))
        valid = torch.from_numpy(corr.valid.astype(np.float32))[None, None].to(warped.device)
        with torch.inference_mode():
            refined, still = self.refiner(warped, valid, g.to(warped.device))
        return refined, 1.0 - float(still.mean())

    def _smooth(self, probs: torch.Tensor, corr: Correspondence | None, frame: RGBDFrame) -> torch.Tensor:
        """Exponential average along the motion: the previous result carried here, blended in."""
        prev = self._smoothed
        if prev is not None and corr is not None and corr.previous is not None and prev.shape == probs.shape:
            carried = warp_probabilities(prev, corr.previous, corr.previous_valid, (frame.height, frame.width))
            mass = probs.sum(dim=1, keepdim=True)
            share = self.options.smooth_weight * torch.from_numpy(corr.previous_valid.astype(np.float32)).to(
                probs.device)[None, None]
            share = torch.where(mass > 0.5, share, (share > 0).to(share.dtype))  # nothing here: the carried result
            probs = share * carried + (1.0 - share) * probs
        self._smoothed = probs
        return probs


def photometric_error(key: View, view: View, corr: Correspondence) -> np.ndarray:
    """|grey now - keyframe grey at the carried position| on the model grid, in [0, 1] (0 where invalid)."""
    (height, width), (hf, wf) = key.size, key.gray.shape
    kx = frame_to_grid(corr.source[..., 0], width, wf)
    ky = frame_to_grid(corr.source[..., 1], height, hf)
    then = sample_map(key.gray.astype(np.float32), kx, ky)
    from sgnet.temporal.geometry import model_grid

    xs, ys = model_grid(*view.size, *view.grid)
    gx = np.broadcast_to(frame_to_grid(xs, view.size[1], view.gray.shape[1])[None, :], view.grid)
    gy = np.broadcast_to(frame_to_grid(ys, view.size[0], view.gray.shape[0])[:, None], view.grid)
    now = sample_map(view.gray.astype(np.float32), np.ascontiguousarray(gx), np.ascontiguousarray(gy))
    return np.where(corr.valid, np.abs(now - then) / 255.0, 0.0).astype(np.float32)
