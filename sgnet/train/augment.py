"""Training augmentation that keeps the camera model honest.

Scaling, cropping and flipping an RGB-D image changes which ray each pixel sees, so the
intrinsics travel with the sample and xyz is computed *after* augmentation from the
augmented depth and intrinsics. Depth values themselves are never rescaled (a resized
image of a wall 2 m away still shows a wall 2 m away); only the focal length changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sgnet.train.sensor_augment import SensorAugmentConfig, sensor_augment

IGNORE_INDEX = 255


@dataclass(frozen=True)
class Sample:
    """One training example on the host. color uint8 HxWx3 RGB, depth float32 metres,
    label uint8 0..39 / 255 ignored, intrinsics (fx, fy, cx, cy) 0-based."""

    color: np.ndarray
    depth: np.ndarray
    label: np.ndarray
    intrinsics: tuple[float, float, float, float]


@dataclass(frozen=True)
class AugmentConfig:
    crop: tuple[int, int] | None = None  # (H, W); None keeps the full image
    scale_range: tuple[float, float] = (0.5, 2.0)
    flip: bool = True
    color_jitter: float = 0.2  # brightness/contrast/saturation amplitude; 0 disables
    sensor: SensorAugmentConfig = SensorAugmentConfig()  # a real sensor's colour and depth (off by default)


def rescale(sample: Sample, factor: float) -> Sample:
    """Resize by `factor`: bilinear color, nearest depth (no blended 'flying' depths) and label."""
    h, w = sample.label.shape
    nh, nw = max(1, round(h * factor)), max(1, round(w * factor))
    sx, sy = nw / w, nh / h
    fx, fy, cx, cy = sample.intrinsics
    return Sample(
        color=cv2.resize(sample.color, (nw, nh), interpolation=cv2.INTER_LINEAR),
        depth=cv2.resize(sample.depth, (nw, nh), interpolation=cv2.INTER_NEAREST),
        label=cv2.resize(sample.label, (nw, nh), interpolation=cv2.INTER_NEAREST),
        intrinsics=(fx * sx, fy * sy, (cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5),
    )


def crop(sample: Sample, top: int, left: int, size: tuple[int, int]) -> Sample:
    """Crop a size=(H, W) window at (top, left); areas outside the image are padded
    (color 0, depth 0 = missing, label ignored). The principal point moves with the window."""
    ch, cw = size
    h, w = sample.label.shape
    color = np.zeros((ch, cw, 3), np.uint8)
    depth = np.zeros((ch, cw), np.float32)
    label = np.full((ch, cw), IGNORE_INDEX, np.uint8)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + ch, h), min(left + cw, w)
    if y1 > y0 and x1 > x0:
        dst = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
        color[dst] = sample.color[y0:y1, x0:x1]
        depth[dst] = sample.depth[y0:y1, x0:x1]
        label[dst] = sample.label[y0:y1, x0:x1]
    fx, fy, cx, cy = sample.intrinsics
    return Sample(color, depth, label, (fx, fy, cx - left, cy - top))


def hflip(sample: Sample) -> Sample:
    """Mirror left-right. The mirrored image is what a camera with cx' = W-1-cx would see of
    the mirrored scene, so xyz stays a valid (mirrored) point cloud."""
    w = sample.label.shape[1]
    fx, fy, cx, cy = sample.intrinsics
    return Sample(
        np.ascontiguousarray(sample.color[:, ::-1]),
        np.ascontiguousarray(sample.depth[:, ::-1]),
        np.ascontiguousarray(sample.label[:, ::-1]),
        (fx, fy, (w - 1) - cx, cy),
    )


def jitter_color(color: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Random brightness, contrast and saturation, each by a factor in [1-amount, 1+amount]."""
    img = color.astype(np.float32)
    b, c, s = rng.uniform(1 - amount, 1 + amount, size=3)
    img *= b
    mean = img.mean()
    img = (img - mean) * c + mean
    gray = img.mean(axis=2, keepdims=True)
    img = (img - gray) * s + gray
    return np.clip(img, 0, 255).astype(np.uint8)


def augment(sample: Sample, cfg: AugmentConfig, rng: np.random.Generator) -> Sample:
    """Sensor effects (at full size) -> random scale -> random crop (padded when the scaled image is
    smaller) -> flip -> color jitter. The sensor effects draw from their own stream, so switching
    them on leaves every crop and flip as it was (a fair ablation)."""
    if cfg.sensor.enabled:
        sensor_rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
        color, depth = sensor_augment(sample.color, sample.depth, cfg.sensor, sensor_rng)
        sample = Sample(color, depth, sample.label, sample.intrinsics)
    lo, hi = cfg.scale_range
    if hi > lo or lo != 1.0:
        sample = rescale(sample, float(rng.uniform(lo, hi)))
    if cfg.crop is not None:
        ch, cw = cfg.crop
        h, w = sample.label.shape
        top = int(rng.integers(0, h - ch + 1)) if h > ch else (h - ch) // 2
        left = int(rng.integers(0, w - cw + 1)) if w > cw else (w - cw) // 2
        sample = crop(sample, top, left, cfg.crop)
    if cfg.flip and rng.random() < 0.5:
        sample = hflip(sample)
    if cfg.color_jitter > 0:
        jittered = jitter_color(sample.color, rng, cfg.color_jitter)
        sample = Sample(jittered, sample.depth, sample.label, sample.intrinsics)
    return sample
