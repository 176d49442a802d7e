"""The RealSense-like depth model (millimetres, z^2 noise, stereo shadows, range limits,
dropout on glass) and the colour pipeline."""

from __future__ import annotations

import numpy as np

from app.synth.camera import make_intrinsics
from app.synth.sensor import DepthModel, camera_color, realsense_depth

H, W = 120, 160
INTR = make_intrinsics(W, H)
QUIET = DepthModel(blobs=(0, 0), speckle=0.0)


def _flat(z: float) -> np.ndarray:
    return np.full((H, W), z, np.float32)


def test_depth_is_uint16_millimetres_with_noise_growing_with_z_squared():
    rng = np.random.default_rng(0)
    no_drop = np.zeros((H, W), np.float32)
    near = realsense_depth(_flat(1.0), no_drop, INTR, rng, QUIET)
    far = realsense_depth(_flat(4.0), no_drop, INTR, rng, QUIET)
    assert near.dtype == np.uint16 and near.shape == (H, W)
    vn, vf = near[near > 0].astype(float), far[far > 0].astype(float)
    assert abs(np.median(vn) - 1000) < 5 and abs(np.median(vf) - 4000) < 40
    assert vf.std() > 6 * vn.std() > 0  # sigma = a + b z^2: ~16x the z^2 term from 1 m to 4 m
    # the flat wall has no edges: only the left border band (no stereo match) is missing
    assert (far > 0).mean() > 0.9


def test_left_border_band_matches_the_disparity():
    rng = np.random.default_rng(1)
    d = realsense_depth(_flat(1.0), np.zeros((H, W), np.float32), INTR, rng, QUIET)
    disparity = INTR.fx * 0.05 / 1.0
    band = (d[:, : int(disparity) - 1] == 0).mean()
    after = (d[:, int(disparity) + 2 :] == 0).mean()
    assert band > 0.95 and after < 0.01


def test_occlusion_shadow_left_of_a_near_object():
    z = _flat(3.0)
    z[40:80, 100:130] = 0.6  # a near box in front of a far wall
    rng = np.random.default_rng(2)
    d = realsense_depth(z, np.zeros((H, W), np.float32), INTR, rng, QUIET)
    fb = INTR.fx * 0.05
    width = fb * (1 / 0.6 - 1 / 3.0)  # the part of the wall the right imager cannot see
    rows = slice(45, 75)
    shadow = d[rows, 100 - int(width) + 1 : 99]
    right_side = d[rows, 132 : 132 + int(width)]
    assert width > 7
    assert (shadow == 0).mean() > 0.9
    assert (right_side > 0).mean() > 0.8  # no shadow on the right-hand side of the box
    assert abs(np.median(d[rows, 105:125]) - 600) < 10


def test_range_limits_and_missing_surfaces():
    rng = np.random.default_rng(3)
    z = _flat(2.0)
    z[:, :40] = 9.0  # beyond the maximum range
    z[:10] = np.inf  # nothing hit
    z[100:, 60:] = 0.1  # closer than the minimum range
    d = realsense_depth(z, np.zeros((H, W), np.float32), INTR, rng, QUIET)
    assert (d[:, :40] == 0).all() and (d[:10] == 0).all() and (d[100:, 60:] == 0).all()
    assert (d[20:90, 60:] > 0).mean() > 0.97


def test_glass_drops_depth_and_blobs_punch_holes():
    rng = np.random.default_rng(4)
    drop = np.zeros((H, W), np.float32)
    drop[:, 80:] = 1.0
    d = realsense_depth(_flat(2.0), drop, INTR, rng, QUIET)
    assert (d[:, 80:] == 0).all()
    holes = [
        (
            realsense_depth(
                _flat(2.0),
                np.zeros((H, W), np.float32),
                INTR,
                np.random.default_rng(s),
                DepthModel(blobs=(3, 3), speckle=0.0),
            )[:, 60:]
            == 0
        ).mean()
        for s in range(3)
    ]
    assert min(holes) > 0.002


def test_depth_and_color_are_deterministic_per_generator():
    z = _flat(2.5)
    drop = np.zeros((H, W), np.float32)
    a = realsense_depth(z, drop, INTR, np.random.default_rng(5))
    b = realsense_depth(z, drop, INTR, np.random.default_rng(5))
    c = realsense_depth(z, drop, INTR, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    rgb = np.random.default_rng(0).random((H, W, 3)).astype(np.float32)
    ca = camera_color(rgb, np.random.default_rng(7))
    assert ca.dtype == np.uint8 and ca.shape == (H, W, 3)
    assert np.array_equal(ca, camera_color(rgb, np.random.default_rng(7)))
    # auto exposure: a 4x brighter scene gives about the same picture
    cb = camera_color(rgb * 4, np.random.default_rng(7))
    assert abs(float(ca.mean()) - float(cb.mean())) < 3
