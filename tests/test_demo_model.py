"""The shipped demo model: small, loaded by default, and it really segments the demo clip."""

from __future__ import annotations

import numpy as np
import pytest

from app.live import LiveOptions, load_segmenter, model_line
from app.sources.demo import DemoSource
from sgnet.errors import SGNetUserError
from sgnet.loading import BUNDLED, bundled_weights
from sgnet.metrics import confusion_matrix, scores
from sgnet.weights import read_checkpoint


def test_shipped_weights_are_small_safetensors_for_sgnet_lite():
    path = bundled_weights("sgnet_lite")
    assert path is not None and path.suffix == ".safetensors"
    assert path.stat().st_size <= 20 * 2**20
    ckpt = read_checkpoint(path)
    assert ckpt.model_name == "sgnet_lite"
    assert bundled_weights("sgnet_r101") is None and set(BUNDLED) == {"sgnet_lite"}


def test_the_app_loads_the_shipped_weights_unless_told_otherwise(tmp_path):
    seg = load_segmenter(LiveOptions(camera="demo", device="cpu"))
    assert str(seg.weights) == str(bundled_weights("sgnet_lite"))
    line = model_line(seg, LiveOptions(camera="demo"))
    assert "shipped demo weights sgnet_lite_synth.safetensors" in line
    with pytest.raises(SGNetUserError, match="sgnet_lite_plain has no shipped weights.*--random-weights"):
        load_segmenter(LiveOptions(camera="demo", model="sgnet_lite_plain", device="cpu"))
    asked = LiveOptions(camera="demo", model="sgnet_lite_plain", device="cpu", random_weights=True)
    plain = load_segmenter(asked)
    assert plain.weights is None
    assert "untrained random weights" in model_line(plain, asked)


@pytest.fixture(scope="module")
def demo_scores():
    seg = load_segmenter(LiveOptions(camera="demo", device="cpu"))
    src = DemoSource()
    hist = np.zeros((40, 40), np.int64)
    for i in range(0, src.loop, max(1, src.loop // 16)):
        out = seg.segment(src.frame(i))
        hist += confusion_matrix(src.ground_truth(i), out.labels, 40).numpy()
    return scores(hist)


def test_shipped_model_segments_the_unseen_demo_rooms(demo_scores):
    """The clip's rooms come from a seed no training set used. The shipped model scores 0.84
    pixel accuracy / 0.43 mIoU (0.56 over the ground-truth classes) on these frames; untrained
    weights score 0.002 / 0.001."""
    assert demo_scores.pixel_acc > 0.80
    assert demo_scores.miou > 0.39
    assert demo_scores.miou_gt > 0.50
