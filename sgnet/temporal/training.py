"""Training the refinement network (`sgnet train --refiner`) on labelled frame sequences.

Samples are made the way video mode meets them: a keyframe through the real segmenter (its class
probabilities), then 1..`max_gap` frames later the probabilities carried by each tracker, with the
guidance the refiner sees and the ground truth at the model grid. The loss is the negative log
probability of the true class on pixels that have a prediction after refinement (pixels still
invalid get no prediction whatever the weights, so they cannot be learnt from). Everything is
seeded: the same data, seed and iterations give the same weights on the same machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sgnet.frames import NO_PREDICTION, RGBDFrame
from sgnet.temporal.geometry import model_grid, warp_probabilities
from sgnet.temporal.motion import TRACKERS, make_view
from sgnet.temporal.refiner import Refiner, count_parameters, guide


@dataclass(frozen=True)
class RefinerSample:
    warped: torch.Tensor  # (C, h, w) float16 carried probabilities, 0 where invalid
    valid: torch.Tensor  # (1, h, w) float32
    guidance: torch.Tensor  # (7, h, w) float32
    target: torch.Tensor  # (h, w) int64 true classes, 255 = ignore


@dataclass(frozen=True)
class RefinerReport:
    iterations: int
    seconds: float
    samples: int
    val_samples: int
    parameters: int
    val_accuracy_before: float | None  # pixel accuracy of the carried probabilities (valid pixels)
    val_accuracy_after: float | None  # ... after refinement (pixels with a prediction)
    val_coverage_before: float | None  # share of pixels with a prediction
    val_coverage_after: float | None
    last_loss: float


def truth_on_grid(labels: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Ground truth (H, W) read at the model grid's pixels (nearest)."""
    xs, ys = model_grid(*labels.shape, *grid)
    return labels[np.rint(ys).astype(np.intp)[:, None], np.rint(xs).astype(np.intp)[None, :]]


def make_samples(
    segmenter,
    frames: Sequence[RGBDFrame],
    truth: Sequence[np.ndarray],
    key_stride: int = 8,
    gaps_per_key: int = 3,
    max_gap: int = 8,
    rng: np.random.Generator | None = None,
) -> list[RefinerSample]:
    """Samples from one sequence (consecutive frames with their uint8 ground truth, 255 = none):
    a keyframe every `key_stride` frames, `gaps_per_key` random gaps in 1..max_gap per tracker."""
    import cv2

    from sgnet.temporal.video import photometric_error

    rng = rng or np.random.default_rng(0)
    out: list[RefinerSample] = []
    for k in range(0, len(frames) - 1, key_stride):
        _, probs = segmenter.segment_with_probabilities(frames[k])
        probs = probs.float().cpu()
        grid = tuple(probs.shape[-2:])
        views = {}
        last = min(len(frames) - 1, k + max_gap)
        gaps = set(rng.choice(np.arange(1, last - k + 1), size=min(gaps_per_key, last - k), replace=False).tolist())
        for make in TRACKERS.values():
            tracker = make()
            key_view = views[k] = views.get(k) or _view(frames[k], grid)
            tracker.keyframe(key_view)
            for t in range(k + 1, k + max(gaps) + 1):
                view = views[t] = views.get(t) or _view(frames[t], grid)
                corr = tracker.track(view)
                if t - k not in gaps or corr.lost:
                    continue
                f = frames[t]
                warped = warp_probabilities(probs, corr.source, corr.valid, (f.height, f.width))
                rgb = cv2.resize(f.color, (grid[1], grid[0]), interpolation=cv2.INTER_AREA)
                g = guide(rgb, view.grid_depth, corr.valid, photometric_error(key_view, view, corr),
                          warped.amax(dim=1, keepdim=True))
                out.append(RefinerSample(
                    warped[0].half(), torch.from_numpy(corr.valid.astype(np.float32))[None], g[0],
                    torch.from_numpy(truth_on_grid(truth[t], grid).astype(np.int64)),
                ))  # fmt: skip
    return out


def _view(frame: RGBDFrame, grid: tuple[int, int]):
    return make_view(frame.color, frame.depth_m(), frame.intrinsics.matrix(), grid)


def _batch(samples: Sequence[RefinerSample], idx: Sequence[int], device: torch.device):
    pick = [samples[i] for i in idx]
    return (torch.stack([s.warped for s in pick]).float().to(device), torch.stack([s.valid for s in pick]).to(device),
            torch.stack([s.guidance for s in pick]).to(device), torch.stack([s.target for s in pick]).to(device))


def refiner_loss(net: Refiner, warped: torch.Tensor, valid: torch.Tensor, g: torch.Tensor, target: torch.Tensor
                 ) -> torch.Tensor:  # fmt: skip
    """Mean -log p(true class) after refinement over pixels with a prediction and a true class."""
    only = target.clamp_max(warped.shape[1] - 1)[:, None]
    p, valid_after = net(warped, valid, g, only=only)
    use = (valid_after[:, 0] > 0) & (target != NO_PREDICTION)
    if not bool(use.any()):
        return p.sum() * 0.0
    return -(p[:, 0].clamp_min(1e-6).log()[use]).mean()


@torch.no_grad()
def evaluate(net: Refiner, samples: Sequence[RefinerSample], device: torch.device) -> tuple[float, float, float, float]:
    """(accuracy before, after, coverage before, after) over samples, on pixels with a true class."""
    hits = [0, 0]
    have = [0, 0]
    total = 0
    for i in range(len(samples)):
        warped, valid, g, target = _batch(samples, [i], device)
        refined, valid_after = net(warped, valid, g)
        known = target != NO_PREDICTION
        total += int(known.sum())
        for j, (p, v) in enumerate(((warped, valid), (refined, valid_after))):
            ok = known & (v[:, 0] > 0)
            have[j] += int(ok.sum())
            hits[j] += int((p.argmax(1) == target)[ok].sum())
    return (hits[0] / max(have[0], 1), hits[1] / max(have[1], 1), have[0] / max(total, 1), have[1] / max(total, 1))


def train_refiner(
    samples: Sequence[RefinerSample],
    val_samples: Sequence[RefinerSample] = (),
    iters: int = 1500,
    batch_size: int = 8,
    lr: float = 2e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    on_progress: Callable[[int, int, float], None] | None = None,
) -> tuple[Refiner, RefinerReport]:
    """Adam with a cosine schedule over `iters` steps of `batch_size` random samples."""
    if not samples:
        raise ValueError("no training samples (the sequences are too short or tracking was lost everywhere)")
    device = torch.device(device)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = Refiner().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iters)
    t0 = time.perf_counter()
    loss_v = float("nan")
    for it in range(1, iters + 1):
        warped, valid, g, target = _batch(samples, rng.integers(0, len(samples), batch_size).tolist(), device)
        loss = refiner_loss(net, warped, valid, g, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        loss_v = loss.item()
        if on_progress is not None:
            on_progress(it, iters, loss_v)
    seconds = time.perf_counter() - t0
    net.eval()
    before = after = cov_b = cov_a = None
    if val_samples:
        before, after, cov_b, cov_a = evaluate(net, val_samples, device)
    report = RefinerReport(iters, seconds, len(samples), len(val_samples), count_parameters(net), before, after,
                           cov_b, cov_a, loss_v)
    return net.cpu(), report
