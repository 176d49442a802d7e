"""Training augmentation that makes rendered frames look like a real sensor's.

A model trained on renders meets real cameras at test time: other colour pipelines (gamma,
white balance, saturation, JPEG, blur, noise) and other depth (Kinect v1's in-painted or
disparity-quantised depth, RealSense holes, small scale errors). These effects are drawn per
sample, before scaling and cropping, because they happen at the sensor's resolution.

`color` and `depth` are strengths in [0, 1]: each effect is applied with a probability that
grows with its strength (0 turns the group off), so one number per group is enough to
ablate it (docs/demo-model.md measures each).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sgnet.depth_holes import fill_holes


@dataclass(frozen=True)
class SensorAugmentConfig:
    color: float = 0.0  # 0..1: gamma, white balance, hue, grey, blur, noise, JPEG
    depth: float = 0.0  # 0..1: holes filled or added, disparity quantisation, scale error, edge blur
    fill: float = 0.0  # 0..1: share of samples whose depth holes are in-painted (fill_holes), last

    @property
    def enabled(self) -> bool:
        return self.color > 0 or self.depth > 0 or self.fill > 0


def _gamma(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    g = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
    return 255.0 * np.power(np.clip(img, 0, 255) / 255.0, g)


def _white_balance(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gains = rng.uniform(0.82, 1.18, size=3).astype(np.float32)
    return img * gains


def _hue_saturation(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hsv = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-12, 12)) % 180  # OpenCV hue is 0..179 (2° steps)
    hsv[..., 1] *= rng.uniform(0.3, 1.3)
    return cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)


def _grey(img: np.ndarray) -> np.ndarray:
    y = img @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat(y[..., None], 3, axis=2)


def _blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.5:
        return cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.4, 1.6)))
    length = int(rng.integers(3, 10))  # hand shake: a short line kernel at a random angle
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), float(rng.uniform(0, 180)), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    return cv2.filter2D(img, -1, kernel / max(float(kernel.sum()), 1e-6))


def _noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    read = rng.uniform(1.0, 6.0)
    shot = rng.uniform(0.0, 0.6)
    sigma = np.sqrt(read**2 + shot * np.clip(img, 0, 255))
    return img + rng.standard_normal(img.shape).astype(np.float32) * sigma


def _jpeg(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    quality = int(rng.integers(30, 91))
    ok, buf = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).astype(np.float32) if ok else img


def _apply(img: np.ndarray, effects, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Each (probability, effect) in order, applied with probability × strength."""
    for p, effect in effects:
        if rng.random() < p * strength:
            img = effect(img, rng)
    return img


# in camera order; JPEG last: compression sees the noise, as in a camera
_COLOR_EFFECTS = (
    (0.5, _gamma), (0.5, _white_balance), (0.4, _hue_saturation), (0.15, lambda img, rng: _grey(img)),
    (0.4, _blur), (0.4, _noise), (0.4, _jpeg),
)


def sensor_color(color: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """uint8 RGB -> uint8 RGB as another camera's pipeline might have delivered it."""
    img = _apply(color.astype(np.float32), _COLOR_EFFECTS, strength, rng)
    return np.clip(img, 0, 255).astype(np.uint8)


def _quantise_disparity(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Structured-light / stereo depth comes from disparity steps: z resolution ~ k z²
    (Kinect v1: about 3 mm at 1 m, 2.7 cm at 3 m)."""
    k = rng.uniform(1.5e-3, 3.5e-3)  # metres of z step at 1 m
    valid = depth > 0
    inv = np.zeros_like(depth)
    inv[valid] = 1.0 / depth[valid]
    inv = np.round(inv / k) * k
    out = np.zeros_like(depth)
    ok = valid & (inv > 0)
    out[ok] = 1.0 / inv[ok]
    return out


def _edge_blur(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Smoothed depth edges (filtered sensors, in-painting): a median that keeps holes holes."""
    out = cv2.medianBlur(depth.astype(np.float32), 5)
    out[depth <= 0] = 0
    return out


def _dropout(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few ragged blobs without depth (dark or shiny surfaces, sunlight)."""
    h, w = depth.shape
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 5))):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(3, max(4, w // 8))), int(rng.integers(3, max(4, h // 8))))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    ragged = rng.random((h, w)) < 0.7
    out = depth.copy()
    out[(mask > 0) & ragged] = 0
    return out


def _scale_error(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return depth * np.float32(rng.uniform(0.97, 1.03))  # calibration: depth units a few % off


def sensor_depth(depth: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """float32 metres (0 = missing) -> the same scene as another depth sensor might report it."""
    out = _apply(depth, ((0.3, _scale_error), (0.3, _quantise_disparity)), strength, rng)
    if rng.random() < 0.5 * strength:  # holes: in-painted, or else maybe more of them
        out = fill_holes(out)
    elif rng.random() < 0.3 * strength:
        out = _dropout(out, rng)
    out = _apply(out, ((0.3, _edge_blur),), strength, rng)
    return out.astype(np.float32, copy=False)


def sensor_augment(
    color: np.ndarray, depth: np.ndarray, cfg: SensorAugmentConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Both groups on one full-size sample (labels and intrinsics stay as they are), then the
    in-painting of a share `fill` of the samples: NYUv2's labelled frames have no holes, a
    RealSense's have many, and a model that saw only one kind misreads the other."""
    if cfg.color > 0:
        color = sensor_color(color, cfg.color, rng)
    if cfg.depth > 0:
        depth = sensor_depth(depth, cfg.depth, rng)
    if cfg.fill > 0 and rng.random() < cfg.fill:
        depth = fill_holes(depth)
    return color, depth
