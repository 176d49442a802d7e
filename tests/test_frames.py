"""The frame dataclasses: the one type that crosses package boundaries must reject bad data early."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sgnet.frames import NO_PREDICTION, Intrinsics, RGBDFrame, Segmentation


def make_frame(h: int = 4, w: int = 6, **kw) -> RGBDFrame:
    args = dict(
        color=np.zeros((h, w, 3), np.uint8),
        depth=np.full((h, w), 1000, np.uint16),
        depth_scale=0.001,
        intrinsics=Intrinsics(w, h, 5.0, 5.0, (w - 1) / 2, (h - 1) / 2),
        index=0,
    )
    args.update(kw)
    return RGBDFrame(**args)


def test_intrinsics_scaled_keeps_pixel_centres_aligned():
    k = Intrinsics(640, 480, 600.0, 610.0, 319.5, 239.5)
    half = k.scaled(320, 240)
    assert (half.width, half.height) == (320, 240)
    assert half.fx == pytest.approx(300.0) and half.fy == pytest.approx(305.0)
    # the exact image centre stays the exact image centre
    assert half.cx == pytest.approx(159.5) and half.cy == pytest.approx(119.5)
    # half-res pixel 0 covers full-res pixels 0 and 1 (centre 0.5): its ray keeps its angle
    assert (0 - half.cx) / half.fx == pytest.approx((0.5 * 2 - 0.5 - k.cx) / k.fx)
    np.testing.assert_allclose(k.matrix(), [[600, 0, 319.5], [0, 610, 239.5], [0, 0, 1]])
    assert k.as_tuple() == (600.0, 610.0, 319.5, 239.5)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(width=0), "positive"),
        (dict(fx=-1.0), "focal"),
        (dict(cy=float("nan")), "finite"),
    ],
)
def test_intrinsics_reject_nonsense(kw, match):
    args = dict(width=4, height=3, fx=1.0, fy=1.0, cx=1.0, cy=1.0) | kw
    with pytest.raises(ValueError, match=match):
        Intrinsics(**args)


def test_frame_is_frozen_and_read_only():
    f = make_frame()
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.index = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        f.depth[0, 0] = 5
    assert f.height == 4 and f.width == 6


def test_frame_depth_in_metres():
    depth = np.array([[0, 1000], [2500, 65535]], np.uint16)
    f = make_frame(2, 2, depth=depth, depth_scale=0.001)
    np.testing.assert_allclose(f.depth_m(), [[0, 1.0], [2.5, 65.535]], rtol=1e-6)
    assert f.depth_m().dtype == np.float32


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(color=np.zeros((4, 6, 3), np.float32)), "uint8 HxWx3"),
        (dict(color=np.zeros((4, 6), np.uint8)), "uint8 HxWx3"),
        (dict(depth=np.zeros((4, 6), np.float32)), "uint16"),
        (dict(depth=np.zeros((5, 6), np.uint16)), "aligned"),
        (dict(depth_scale=0.0), "depth_scale"),
        (dict(intrinsics=Intrinsics(8, 4, 1, 1, 1, 1)), "intrinsics are for 8x4"),
    ],
)
def test_frame_rejects_bad_arrays(kw, match):
    with pytest.raises(ValueError, match=match):
        make_frame(**kw)


def test_segmentation_checks_labels_against_its_frame():
    f = make_frame()
    labels = np.full((4, 6), NO_PREDICTION, np.uint8)
    seg = Segmentation(f, labels, {"model": 2.0, "postprocess": 0.5})
    assert seg.total_ms == pytest.approx(2.5)
    assert list(seg.timings) == ["model", "postprocess"]
    with pytest.raises(ValueError, match="frame's size"):
        Segmentation(f, np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        Segmentation(f, np.zeros((4, 6), np.int32))
