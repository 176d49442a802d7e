"""Metrics = the official IOUMetric on a dataset-level confusion matrix (spec §6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sgnet.metrics import confusion_matrix, scores


def test_confusion_matrix_counts_and_ignores():
    gt = np.array([[0, 0, 1, 255], [2, 2, 1, 7]], dtype=np.uint8)
    pred = np.array([[0, 1, 1, 3], [2, 0, 1, 0]], dtype=np.uint8)
    h = confusion_matrix(gt, pred, num_classes=4).numpy()
    expected = np.zeros((4, 4), np.int64)
    for g, p in [(0, 0), (0, 1), (1, 1), (2, 2), (2, 0), (1, 1)]:  # 255 and 7 (>= C) dropped
        expected[g, p] += 1
    np.testing.assert_array_equal(h, expected)


def test_confusion_matrix_rejects_bad_predictions():
    with pytest.raises(ValueError, match="class ids"):
        confusion_matrix(np.array([0, 1]), np.array([0, 255]), num_classes=2)
    with pytest.raises(ValueError, match="same number"):
        confusion_matrix(np.array([0, 1]), np.array([0]), num_classes=2)


def test_scores_on_a_hand_made_matrix():
    # rows = gt, cols = pred; class 3 absent from gt and predictions -> NaN, skipped
    h = np.array(
        [
            [50, 10, 0, 0],
            [5, 20, 5, 0],
            [0, 0, 10, 0],
            [0, 0, 0, 0],
        ]
    )
    m = scores(h)
    total = 100
    assert m.pixels == total
    assert m.pixel_acc == pytest.approx(80 / total)
    iou0, iou1, iou2 = 50 / (60 + 55 - 50), 20 / (30 + 30 - 20), 10 / (10 + 15 - 10)
    np.testing.assert_allclose(m.iou[:3], [iou0, iou1, iou2])
    assert math.isnan(m.iou[3]) and math.isnan(m.class_acc[3])
    assert m.miou == pytest.approx((iou0 + iou1 + iou2) / 3)
    assert m.mean_class_acc == pytest.approx((50 / 60 + 20 / 30 + 10 / 10) / 3)
    assert m.fwiou == pytest.approx(0.6 * iou0 + 0.3 * iou1 + 0.1 * iou2)
    d = m.as_dict(("a", "b", "c", "d"))
    assert d["per_class"][3] == {"id": 3, "name": "d", "iou": None, "acc": None}
    assert d["miou"] == pytest.approx(m.miou)
    assert m.gt_classes == 3 and m.miou_gt == pytest.approx(m.miou)  # nothing predicted outside the gt


def test_predicted_but_absent_class_counts_as_zero_iou():
    h = np.array([[5, 5], [0, 0]])  # class 1 never in gt but predicted: IoU 0, acc NaN
    m = scores(h)
    assert m.iou[1] == 0.0 and math.isnan(m.class_acc[1])
    assert m.miou == pytest.approx((5 / 10 + 0) / 2)
    assert m.mean_class_acc == pytest.approx(0.5)
    # ...unless the mean is taken over the ground-truth classes only
    assert m.gt_classes == 1 and m.miou_gt == pytest.approx(5 / 10)
    assert m.as_dict()["miou_gt_classes"] == pytest.approx(0.5) and m.as_dict()["gt_classes"] == 1


def test_dataset_level_not_per_image_average():
    a = confusion_matrix(np.array([0, 0, 0, 0]), np.array([0, 0, 0, 0]), 2)
    b = confusion_matrix(np.array([1, 1]), np.array([0, 1]), 2)
    m = scores(a + b)
    # per-image mean of pixel acc would be (1 + 0.5) / 2 = 0.75; dataset level is 5/6
    assert m.pixel_acc == pytest.approx(5 / 6)
