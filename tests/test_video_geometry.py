"""Video mode's pure functions against hand-worked geometry: reprojection, the disocclusion test,
warping probabilities, labels from carried probabilities, the metrics and the option parsers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sgnet.errors import SGNetUserError
from sgnet.temporal.evaluate import parse_mode
from sgnet.temporal.geometry import backproject, depth_agrees, model_grid, reproject, warp_probabilities
from sgnet.temporal.labels import labels_from_probabilities
from sgnet.temporal.metrics import compensated_changes, confusion_with_misses, mean_iou
from sgnet.temporal.policy import KeyframePolicy, parse_interval

K = np.array([[100.0, 0.0, 39.5], [0.0, 100.0, 29.5], [0.0, 0.0, 1.0]])


def translation(x: float = 0.0, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def test_a_sideways_step_moves_a_plane_by_f_times_baseline_over_depth():
    """A fronto-parallel plane at 2 m, the camera 0.1 m to the right: every pixel shifts by
    fx * 0.1 / 2 = 5 px to the left in the other view, depth unchanged."""
    xs, ys = model_grid(60, 80, 60, 80)
    pts = backproject(np.full((60, 80), 2.0, np.float32), xs, ys, K)
    x, y, z = reproject(pts, translation(x=-0.1), K)  # points move left in the camera that stepped right
    assert np.allclose(x, xs[None, :] - 5.0, atol=1e-4) and np.allclose(y, ys[:, None], atol=1e-4)
    assert np.allclose(z, 2.0)


def test_depth_agreement_rejects_a_point_hidden_behind_a_nearer_surface():
    z = np.array([2.0, 2.0, 2.0, 2.0], np.float32)
    seen = np.array([2.01, 1.2, 0.0, 3.0], np.float32)  # same surface, occluder, no depth, further away
    assert depth_agrees(z, seen).tolist() == [True, False, False, False]


def test_warp_follows_a_shift_and_marks_what_was_not_seen():
    probs = torch.zeros(1, 2, 6, 8)
    probs[0, 1, :, 4:] = 1.0  # class 1 on the right half of the keyframe
    probs[0, 0, :, :4] = 1.0
    xs, ys = model_grid(6, 8, 6, 8)
    source = np.stack(np.meshgrid(xs + 2.0, ys), -1).astype(np.float32)  # every pixel was 2 px further right
    valid = source[..., 0] <= 7.0
    out = warp_probabilities(probs, source, valid, (6, 8))
    assert out[0, 1, :, 2:6].min() > 0.999 and out[0, 0, :, :2].min() > 0.999  # the edge moved 2 px left
    assert float(out[0, :, :, 6:].abs().sum()) == 0.0  # out of view: nothing, not a guess
    labels, conf = labels_from_probabilities(out, (6, 8), (6, 8))
    assert (labels[:, 6:] == 255).all() and (conf[:, 6:] == 0).all() and (labels[:, :2] == 0).all()


def test_labels_at_the_input_size_are_scaled_up_by_nearest():
    probs = torch.zeros(1, 3, 2, 2)
    probs[0, 2] = 1.0
    labels, conf = labels_from_probabilities(probs, (8, 8), (4, 4))
    assert labels.shape == (8, 8) and labels.dtype == np.uint8 and (labels == 2).all()
    assert conf.dtype == np.float32 and np.allclose(conf, 1.0)


def test_flicker_counts_label_changes_on_the_same_surface_only():
    depth = np.full((60, 80), 2.0, np.float32)
    prev = np.zeros((60, 80), np.uint8)
    prev[:, 40:] = 1
    now = np.zeros((60, 80), np.uint8)
    now[:, 35:] = 1  # the camera stepped right by 0.1 m: the edge moved 5 px left, a steady label
    step = translation(x=0.1)  # previous camera <- this one: points move right in the previous camera
    changed, compared = compensated_changes(prev, now, depth, depth, K, step, step=1)
    assert changed == 0 and compared > 0.8 * 60 * 80
    flicker = now.copy()
    flicker[:, 35:40] = 0  # the edge did not follow the motion: 5 columns changed
    changed, compared = compensated_changes(prev, flicker, depth, depth, K, step, step=1)
    assert changed == 5 * 60


def test_no_prediction_counts_against_the_true_class():
    gt = np.array([0, 0, 1, 1], np.uint8)
    assert mean_iou(confusion_with_misses(gt, np.array([0, 0, 1, 1], np.uint8), 2)) == 1.0
    assert mean_iou(confusion_with_misses(gt, np.array([0, 255, 1, 1], np.uint8), 2)) == pytest.approx(0.75)


@pytest.mark.parametrize("text", ["0", "x", "-2", "1.5", ""])
def test_a_bad_interval_is_one_line(text):
    with pytest.raises(SGNetUserError, match="--keyframe-interval must be a whole number"):
        parse_interval(text)


def test_intervals_and_modes_parse():
    assert parse_interval("3") == 3 and parse_interval("AUTO") is None
    assert parse_mode("1") is None
    m = parse_mode("3/flow/raw")
    assert (m.policy.interval, m.method, m.refine, m.smooth) == (3, "flow", False, False)
    a = parse_mode("auto/smooth")
    assert a.policy.auto and a.smooth and a.refine and a.method == "reproject"
    with pytest.raises(SGNetUserError, match="unknown part 'fast'"):
        parse_mode("3/fast")


def test_auto_names_what_asked_for_a_keyframe():
    p = KeyframePolicy(None)
    assert p.why_new(0.0, 0.0, 0.0) is None
    assert p.why_new(0.5, 0.0, 0.0) == "invalid"
    assert p.why_new(0.0, 0.5, 0.0) == "motion"
    assert p.why_new(0.0, 0.0, 0.5) == "confidence"
    assert p.due(p.max_interval) and not p.due(p.max_interval - 1)
    assert KeyframePolicy(3).why_new(0.9, 0.9, 0.9) is None  # a fixed interval never asks


def test_labels_from_probabilities_match_a_full_upsample_and_argmax():
    """Dropping classes that cannot win changes nothing (module proof), also next to missing pixels."""
    import torch.nn.functional as F

    from sgnet.preprocess import upsample_logits

    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        logits = F.interpolate(torch.randn(1, 40, 8, 10, generator=gen) * 4, size=(30, 40), mode="bilinear")
        probs = torch.softmax(logits, dim=1)
        probs[:, :, 5:12, 8:20] = 0.0  # not carried
        labels, conf = labels_from_probabilities(probs, (120, 160), (120, 160))
        full = upsample_logits(torch.cat([probs, probs.sum(1, keepdim=True)], 1), (120, 160))
        want = torch.where(full[:, -1] < 0.5, 255, full[:, :-1].argmax(1))[0].numpy()
        assert (labels == want).all()
        peak = upsample_logits(probs.amax(1, keepdim=True), (120, 160))[0, 0].numpy()  # as Segmenter._confidence
        assert np.allclose(conf[want != 255], peak[want != 255], atol=1e-6) and (conf[want == 255] == 0).all()


def test_the_refiners_true_class_shortcut_equals_the_full_filter():
    from sgnet.temporal.refiner import guided_filter

    gen = torch.Generator().manual_seed(1)
    probs = torch.softmax(torch.randn(2, 6, 9, 11, generator=gen), 1)
    valid = (torch.rand(2, 1, 9, 11, generator=gen) > 0.3).float()
    weights = torch.softmax(torch.randn(2, 18, 9, 11, generator=gen), 1)
    only = torch.randint(0, 6, (2, 1, 9, 11), generator=gen)
    full, ok = guided_filter(probs, valid, weights)
    one, ok1 = guided_filter(probs, valid, weights, only)
    assert torch.allclose(full.gather(1, only), one) and torch.equal(ok, ok1)
    assert torch.allclose(full.sum(1)[ok[:, 0] > 0], torch.ones(1))  # still probabilities where valid
