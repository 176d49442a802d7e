"""What a RealSense-like RGB-D camera makes of the ideal view.

Depth (active stereo, left imager as reference, 50 mm baseline):
- noise growing with z^2 (stereo matching error of a fraction of a pixel in disparity),
  partly spatially correlated, then quantised to 1/32 px of disparity and to millimetres;
- holes where the right imager cannot see the point (the occlusion band left of every
  near object), ragged holes at depth discontinuities, beyond the maximum range and below
  the minimum range;
- holes on glass, mirrors and black screens (per material), a few random dropout blobs
  and sparse speckle.
Colour: auto exposure, a soft shoulder, sRGB gamma, white-balance jitter, slight blur
(optics), vignetting and sensor noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from sgnet.frames import Intrinsics


@dataclass(frozen=True)
class DepthModel:
    baseline_m: float = 0.05
    noise_a: float = 0.0008  # metres, constant term of the noise sigma
    noise_b: float = 0.0025  # 1/metre, z^2 term: sigma = a + b z^2 (about 1 cm at 2 m)
    subpixel: float = 1 / 32  # disparity quantisation (px at 640 px width)
    min_range_m: float = 0.2
    max_range_m: tuple[float, float] = (6.0, 8.0)  # drawn per frame
    edge_rel: float = 0.04  # relative jump that counts as a depth discontinuity
    blobs: tuple[int, int] = (0, 3)
    speckle: float = 0.002


def realsense_depth(
    depth_m: np.ndarray,
    dropout: np.ndarray,
    intr: Intrinsics,
    rng: np.random.Generator,
    model: DepthModel = DepthModel(),
) -> np.ndarray:
    """Ideal depth (m, inf = none) -> uint16 millimetres with RealSense-like noise and holes (0 = no data)."""
    h, w = depth_m.shape
    z = depth_m.astype(np.float64)
    valid = np.isfinite(z) & (z > 0)
    zf = np.where(valid, z, 0.0)
    # disparity in pixels at this image width (the projector/imager geometry scales with fx)
    fb = intr.fx * model.baseline_m
    disp = np.where(valid, fb / np.maximum(zf, 1e-6), 0.0)
    invalid = ~valid | (zf < model.min_range_m) | (zf > rng.uniform(*model.max_range_m))
    invalid |= _stereo_shadow(disp, valid)
    invalid |= _edge_holes(zf, valid, rng, model.edge_rel)
    # materials that defeat stereo: smooth blotchy masks so holes come in patches
    if np.any(dropout > 0):
        blot = _smooth_noise(h, w, rng, cells=8)
        invalid |= (dropout > 0) & (blot < dropout)
    invalid |= _blobs(h, w, rng, model.blobs)
    invalid |= rng.random((h, w)) < model.speckle
    return noisy_depth_mm(zf, invalid, intr.fx, rng, model)


def noisy_depth_mm(
    z: np.ndarray, invalid: np.ndarray, fx: float, rng: np.random.Generator, model: DepthModel = DepthModel()
) -> np.ndarray:
    """Clean depth (m) -> uint16 mm with the stereo noise (sigma = a + b z^2, part of it correlated
    over ~8 px patches) and disparity quantisation of the model; `invalid` pixels become 0.
    Kept apart from the hole model so a stored clean depth can be given its noise on playback."""
    h, w = z.shape
    zf = np.where(invalid, 0.0, z.astype(np.float64))
    fb = fx * model.baseline_m
    sigma = model.noise_a + model.noise_b * zf**2
    noise = 0.8 * _smooth_noise(h, w, rng, cells=max(2, w // 8), centred=True) + 0.6 * rng.standard_normal((h, w))
    z_noisy = zf + sigma * noise
    # disparity quantisation, scaled so the step is model.subpixel at 640 px
    step = model.subpixel * w / 640.0
    d = fb / np.maximum(z_noisy, 1e-3)
    d = np.maximum(np.round(d / step) * step, step)
    z_noisy = fb / d
    out = np.round(z_noisy * 1000.0)
    out[invalid] = 0
    return np.clip(out, 0, 65535).astype(np.uint16)


def _stereo_shadow(disp: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pixels the right imager cannot see: a closer surface to their right lands on the same column."""
    w = disp.shape[1]
    cols = np.arange(w, dtype=np.float64)[None, :]
    xr = np.where(valid, cols - disp, np.inf)
    # minimum of x_r over all pixels to the right of each pixel
    rev = np.minimum.accumulate(xr[:, ::-1], axis=1)[:, ::-1]
    right_min = np.concatenate([rev[:, 1:], np.full((disp.shape[0], 1), np.inf)], axis=1)
    # and the band at the left border whose match would fall outside the right image
    return valid & ((xr > right_min + 0.5) | (xr < -0.5))


def _edge_holes(z: np.ndarray, valid: np.ndarray, rng: np.random.Generator, rel: float) -> np.ndarray:
    """Ragged invalid pixels along depth discontinuities (mixed pixels the matcher rejects)."""
    zz = np.where(valid, z, 0.0).astype(np.float32)
    k = np.ones((3, 3), np.uint8)
    zmax = cv2.dilate(zz, k)
    zmin = cv2.erode(np.where(valid, zz, np.float32(1e6)), k)
    jump = (zmax - zmin) > (rel * zmax + 0.02)
    # keep a random 60% of the edge pixels, then grow some of them by a pixel
    edge = jump & (rng.random(z.shape) < 0.6)
    grow = cv2.dilate(edge.astype(np.uint8), k).astype(bool) & (rng.random(z.shape) < 0.3)
    return (edge | grow) & valid


def _smooth_noise(h: int, w: int, rng: np.random.Generator, cells: int, centred: bool = False) -> np.ndarray:
    """Band-limited noise: a coarse random grid upsampled bicubically (uniform in [0,1] or ~N(0,1))."""
    gh = max(2, int(math.ceil(cells * h / max(w, 1))))
    gw = max(2, cells)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    up = cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
    return up if centred else _phi(up)


def _phi(x: np.ndarray) -> np.ndarray:
    """Normal CDF (approximation good to 1e-3), maps N(0,1) noise to ~uniform [0,1]."""
    return (1.0 / (1.0 + np.exp(-1.702 * x))).astype(np.float32)


def _blobs(h: int, w: int, rng: np.random.Generator, count: tuple[int, int]) -> np.ndarray:
    """A few irregular dropout patches: ellipses roughened by band-limited noise."""
    n = int(rng.integers(count[0], count[1] + 1))
    if n == 0:
        return np.zeros((h, w), bool)
    field = np.full((h, w), -10.0, np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(n):
        cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        ax = max(1.5, w * float(rng.uniform(0.008, 0.035)))
        ay = ax * float(rng.uniform(0.5, 1.5))
        a = float(rng.uniform(0, math.pi))
        dx, dy = xx - cx, yy - cy
        u = (dx * math.cos(a) + dy * math.sin(a)) / ax
        v = (-dx * math.sin(a) + dy * math.cos(a)) / ay
        field = np.maximum(field, 1.0 - np.sqrt(u * u + v * v))
    rough = _smooth_noise(h, w, rng, cells=max(4, w // 6), centred=True)
    return field + 0.25 * rough > 0.0


def camera_color(rgb_linear: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Linear radiance -> uint8 sRGB as a colour camera with auto exposure would give it."""
    h, w, _ = rgb_linear.shape
    lum = rgb_linear @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    key = float(np.percentile(lum, 70)) if lum.size else 1.0
    exposure = 0.55 / max(key, 1e-4) * rng.uniform(0.8, 1.2)
    wb = np.array([rng.uniform(0.93, 1.07), 1.0, rng.uniform(0.93, 1.07)], np.float32)
    x = rgb_linear * np.float32(exposure) * wb
    # vignetting
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - (w - 1) / 2) / (w / 2)) ** 2 + ((yy - (h - 1) / 2) / (w / 2)) ** 2
    x *= (1 - 0.18 * r2)[..., None]
    x = 1 - np.exp(-x * 1.25)  # soft shoulder instead of hard clipping
    srgb = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(np.maximum(x, 0), 1 / 2.4) - 0.055)
    sigma = 0.45 * w / 640
    srgb = cv2.GaussianBlur(srgb.astype(np.float32), (0, 0), sigmaX=max(sigma, 0.3))
    noise_level = rng.uniform(0.006, 0.014)
    srgb = srgb + rng.standard_normal(srgb.shape).astype(np.float32) * np.float32(noise_level) * (0.5 + srgb)
    return np.clip(np.round(srgb * 255.0), 0, 255).astype(np.uint8)
