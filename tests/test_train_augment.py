"""Augmentation must keep xyz consistent: after scale/crop/flip, back-projecting the augmented
depth with the augmented intrinsics gives the same 3D points the original pixels saw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hha
from sgnet.train.augment import IGNORE_INDEX, AugmentConfig, Sample, augment, crop, hflip, rescale

INTR = (50.0, 52.0, 31.5, 23.5)


def scene(h: int = 48, w: int = 64) -> Sample:
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 4.0, (h, w)).astype(np.float32)
    depth[5:9, 10:20] = 0  # a hole
    color = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    label = rng.integers(0, 40, (h, w), dtype=np.uint8)
    return Sample(color, depth, label, INTR)


def xyz(s: Sample) -> np.ndarray:
    return hha.depth_to_xyz(torch.from_numpy(s.depth), s.intrinsics).numpy()


def test_crop_keeps_every_point_where_it_was():
    s = scene()
    c = crop(s, 7, 11, (20, 30))
    np.testing.assert_allclose(xyz(c), xyz(s)[:, 7:27, 11:41], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(c.label, s.label[7:27, 11:41])


def test_crop_beyond_the_image_pads_missing_depth_and_ignored_labels():
    s = scene()
    c = crop(s, -4, 50, (20, 30))
    assert c.label.shape == (20, 30)
    assert (c.label[:4] == IGNORE_INDEX).all() and (c.depth[:4] == 0).all()
    assert (c.label[:, 14:] == IGNORE_INDEX).all()
    np.testing.assert_allclose(xyz(c)[:, 4:, :14], xyz(s)[:, 0:16, 50:64], rtol=1e-6, atol=1e-6)


def test_flip_mirrors_the_point_cloud():
    s = scene()
    f = hflip(s)
    p, q = xyz(s), xyz(f)
    np.testing.assert_allclose(q[0], -p[0][:, ::-1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(q[1:], p[1:][:, :, ::-1], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(f.label, s.label[:, ::-1])


@pytest.mark.parametrize("factor", [0.5, 1.5, 2.0])
def test_rescale_keeps_depth_values_and_rays(factor):
    h, w = 48, 64
    plane = Sample(np.zeros((h, w, 3), np.uint8), np.full((h, w), 2.0, np.float32), np.zeros((h, w), np.uint8), INTR)
    r = rescale(plane, factor)
    assert r.depth.shape == (round(h * factor), round(w * factor))
    assert (r.depth == 2.0).all(), "depth values must not be rescaled"
    # a new pixel centre u' sits at the continuous old coordinate (u' + 0.5) / s - 0.5
    u_new = np.arange(r.depth.shape[1])
    u_old = (u_new + 0.5) / factor - 0.5
    fx, _, cx, _ = INTR
    np.testing.assert_allclose(xyz(r)[0, 0], (u_old - cx) / fx * 2.0, rtol=1e-5, atol=1e-6)


def test_rescale_uses_nearest_for_depth_so_holes_do_not_blend():
    s = scene()
    r = rescale(s, 1.37)
    assert set(np.unique(r.depth)) <= set(np.unique(s.depth))


def test_augment_produces_the_crop_size_and_is_deterministic_per_seed():
    s = scene()
    cfg = AugmentConfig(crop=(32, 40), scale_range=(0.5, 2.0), flip=True, color_jitter=0.3)
    a = augment(s, cfg, np.random.default_rng(3))
    b = augment(s, cfg, np.random.default_rng(3))
    c = augment(s, cfg, np.random.default_rng(4))
    assert a.color.shape == (32, 40, 3) and a.depth.shape == (32, 40) and a.label.shape == (32, 40)
    np.testing.assert_array_equal(a.color, b.color)
    assert a.intrinsics == b.intrinsics
    assert a.intrinsics != c.intrinsics or not np.array_equal(a.color, c.color)
