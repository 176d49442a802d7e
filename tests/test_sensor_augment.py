"""Real-sensor augmentation: each effect does what its name says, strength 0 is the identity,
and switching it on changes neither the crops nor the labels (the ablation compares like with like)."""

from __future__ import annotations

import numpy as np

from sgnet.depth_holes import fill_holes, nearest_fill
from sgnet.train.augment import AugmentConfig, Sample, augment
from sgnet.train.sensor_augment import (
    SensorAugmentConfig,
    _quantise_disparity,
    sensor_augment,
    sensor_color,
    sensor_depth,
)


def scene(h: int = 48, w: int = 64) -> Sample:
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    depth = np.full((h, w), 2.5, np.float32)
    depth[10:30, 20:40] = 1.2  # a box in front of a wall
    depth[rng.random((h, w)) < 0.1] = 0  # speckle holes
    depth[:, :4] = 0  # the stereo border band
    label = rng.integers(0, 40, (h, w), dtype=np.uint8)
    return Sample(color, depth, label, (50.0, 50.0, (w - 1) / 2, (h - 1) / 2))


def test_nearest_fill_takes_the_nearest_valid_depth():
    rng = np.random.default_rng(1)
    depth = rng.uniform(1, 3, (30, 40)).astype(np.float32)
    depth[rng.random((30, 40)) < 0.5] = 0
    filled = nearest_fill(depth)
    ys, xs = np.nonzero(depth > 0)
    for y, x in zip(*np.nonzero(depth == 0), strict=True):
        dist = (ys - y) ** 2 + (xs - x) ** 2
        assert filled[y, x] in depth[ys, xs][dist == dist.min()]  # one of the equally near pixels
    np.testing.assert_array_equal(filled[depth > 0], depth[depth > 0])
    smoothed = fill_holes(depth)
    assert (smoothed > 0).all()
    np.testing.assert_array_equal(smoothed[depth > 0], depth[depth > 0])  # measured pixels untouched


def test_fill_holes_fills_a_hole_inside_a_flat_wall_with_the_wall():
    depth = np.full((40, 40), 2.0, np.float32)
    depth[10:20, 10:20] = 0
    np.testing.assert_allclose(fill_holes(depth), 2.0)
    empty = np.zeros((8, 8), np.float32)
    np.testing.assert_array_equal(fill_holes(empty), empty)  # nothing to take depth from


def test_disparity_quantisation_steps_grow_with_the_square_of_depth():
    z = np.linspace(0.5, 4.0, 4000, dtype=np.float32)[None]
    q = _quantise_disparity(z, np.random.default_rng(0))[0]
    near, far = np.unique(q[z[0] < 1.0]), np.unique(q[z[0] > 3.0])
    step_near, step_far = np.median(np.diff(near)), np.median(np.diff(far))
    assert step_far > 9 * step_near  # ~ (3.5 / 0.75)^2
    assert np.abs(q - z[0]).max() < 0.05


def test_strength_zero_is_the_identity_and_one_changes_the_frame():
    s = scene()
    rng = np.random.default_rng(5)
    color, depth = sensor_augment(s.color, s.depth, SensorAugmentConfig(0.0, 0.0), rng)
    assert color is s.color and depth is s.depth
    changed_color = changed_depth = 0
    for k in range(20):
        c = sensor_color(s.color, 1.0, np.random.default_rng(k))
        d = sensor_depth(s.depth, 1.0, np.random.default_rng(k))
        assert c.dtype == np.uint8 and c.shape == s.color.shape
        assert d.dtype == np.float32 and d.shape == s.depth.shape and (d >= 0).all()
        changed_color += not np.array_equal(c, s.color)
        changed_depth += not np.array_equal(d, s.depth)
    assert changed_color >= 15 and changed_depth >= 8


def test_sensor_effects_leave_crops_flips_and_labels_as_without_them():
    s = scene()
    plain = AugmentConfig(crop=(32, 40), scale_range=(0.6, 1.4), flip=True, color_jitter=0.2)
    real = AugmentConfig(crop=(32, 40), scale_range=(0.6, 1.4), flip=True, color_jitter=0.2,
                         sensor=SensorAugmentConfig(1.0, 1.0))
    differs = 0
    for k in range(10):
        a = augment(s, plain, np.random.default_rng([0, k]))
        b = augment(s, real, np.random.default_rng([0, k]))
        again = augment(s, real, np.random.default_rng([0, k]))
        np.testing.assert_array_equal(a.label, b.label)
        assert a.intrinsics == b.intrinsics
        np.testing.assert_array_equal(b.color, again.color)  # reproducible per seed
        np.testing.assert_array_equal(b.depth, again.depth)
        differs += not (np.array_equal(a.color, b.color) and np.array_equal(a.depth, b.depth))
    assert differs >= 7


def test_fill_holes_share_in_paints_about_that_share_of_the_samples_and_keeps_the_colour():
    """--fill-holes P: NYUv2-like depth (no holes) in about P of the samples, the rest untouched."""
    s = scene()
    cfg = SensorAugmentConfig(fill=0.5)
    assert cfg.enabled and not SensorAugmentConfig().enabled
    filled = 0
    for k in range(40):
        color, depth = sensor_augment(s.color, s.depth, cfg, np.random.default_rng(k))
        assert color is s.color
        if (depth > 0).all():
            filled += 1
            valid = s.depth > 0
            np.testing.assert_array_equal(depth[valid], s.depth[valid])  # measured depth is kept
        else:
            np.testing.assert_array_equal(depth, s.depth)
    assert 12 <= filled <= 28
    always = sensor_augment(s.color, s.depth, SensorAugmentConfig(fill=1.0), np.random.default_rng(0))[1]
    assert (always > 0).all()
