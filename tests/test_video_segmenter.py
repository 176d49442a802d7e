"""`VideoSegmenter` on a rendered fly-through (true poses known): keyframes where they should be,
every stage timed, the odometry follows the true motion, a discontinuity starts over, and
smoothing steadies labels that a segmenter makes flicker."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sgnet
from app.synth.dataset import SynthConfig, fly_through_frames
from app.synth.truth import nyu40_to_ids, pose_matrix
from sgnet.errors import SGNetUserError
from sgnet.frames import SEGMENT_STAGES, RGBDFrame, Segmentation
from sgnet.temporal import KeyframePolicy, VideoOptions, VideoSegmenter
from sgnet.temporal.geometry import backproject, model_grid, reproject
from sgnet.temporal.motion import ReprojectionTracker, make_view
from sgnet.temporal.video import MAX_GAP, MAX_GAP_MS

H, W, N = 96, 128, 10


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    cfg = SynthConfig(out=tmp_path_factory.mktemp("walk"), frames=1, height=H, width=W, seed=7)
    rendered = list(fly_through_frames(cfg, 0, N))
    intr = cfg.intrinsics()
    frames = [RGBDFrame(f.color, f.depth, 0.001, intr, i) for i, f in enumerate(rendered)]
    return frames, [pose_matrix(f.pose) for f in rendered], [nyu40_to_ids(f.labels) for f in rendered]


@pytest.fixture(scope="module")
def segmenter():
    return sgnet.Segmenter("sgnet_lite", device="cpu", label_resolution="input")


def test_interval_3_runs_the_network_on_every_third_frame(walk, segmenter):
    frames, _, truth = walk
    video = VideoSegmenter(segmenter, VideoOptions(KeyframePolicy(3)))
    segs = [video.segment(f) for f in frames]
    assert [s.keyframe for s in segs] == [i % 3 == 0 for i in range(N)]
    for s in segs:
        assert set(SEGMENT_STAGES) <= set(s.timings)  # all five stages on every frame
        assert s.labels.shape == (H, W) and s.labels.dtype == np.uint8
        assert s.confidence.shape == (H, W) and s.confidence.dtype == np.float32
        assert (s.timings["model"] > 0) == s.keyframe and (s.timings["propagate"] > 0)
    carried = [s for s in segs if not s.keyframe]
    plain = [segmenter.segment(f) for f in frames]
    agree = [float((s.labels == p.labels).mean()) for s, p in zip(segs, plain, strict=True) if not s.keyframe]
    assert min(agree) > 0.6, agree  # carried labels are mostly what the network says on that frame
    assert all(float((s.labels == 255).mean()) < 0.2 for s in carried)


def test_odometry_follows_the_true_camera_motion(walk, segmenter):
    frames, poses, _ = walk
    grid = (24, 32)
    views = [make_view(f.color, f.depth_m(), f.intrinsics.matrix(), grid) for f in frames]
    tracker = ReprojectionTracker()
    tracker.keyframe(views[0])
    for v in views[1:4]:
        corr = tracker.track(v)
    assert not corr.lost and corr.valid.mean() > 0.5
    k = frames[0].intrinsics.matrix()
    xs, ys = model_grid(H, W, *grid)
    x, y, _ = reproject(backproject(views[3].grid_depth, xs, ys, k), np.linalg.inv(poses[0]) @ poses[3], k)
    err = np.hypot(corr.source[..., 0] - x, corr.source[..., 1] - y)[corr.valid]
    moved = np.hypot(x - xs[None, :], y - ys[:, None])[corr.valid]
    assert np.median(moved) > 1.0 and np.median(err) < 0.25 * np.median(moved) + 0.5, (np.median(err), np.median(moved))


def test_a_jump_in_frame_index_or_a_new_size_starts_over(walk, segmenter):
    frames, _, _ = walk
    video = VideoSegmenter(segmenter, VideoOptions(KeyframePolicy(5), method="flow"))
    f = frames
    seq = [f[0], f[1], f[2], f[1], f[2]]  # a seek back after frame 2
    assert [video.segment(x).keyframe for x in seq] == [True, False, False, True, False]
    video.reset()
    far = RGBDFrame(f[3].color, f[3].depth, 0.001, f[3].intrinsics, 3 + MAX_GAP + 1)
    assert [video.segment(x).keyframe for x in (f[2], f[3], far)] == [True, False, True]  # a seek forward
    small = RGBDFrame(f[8].color[::2, ::2].copy(), f[8].depth[::2, ::2].copy(), 0.001,
                      f[8].intrinsics.scaled(W // 2, H // 2), 8)
    assert video.segment(small).keyframe  # follows by index, but another size
    video.reset()
    assert video.segment(f[9]).keyframe


def test_frames_a_live_camera_dropped_are_carried_across(walk, segmenter):
    """--realtime / a camera: the frames processed after a keyframe come a few indices on."""
    frames, _, _ = walk
    video = VideoSegmenter(segmenter, VideoOptions(KeyframePolicy(3)))
    segs = [video.segment(frames[i]) for i in (0, 3, 4, 5, 8, 9)]  # three frames dropped after each keyframe
    assert [s.keyframe for s in segs] == [True, False, False, True, False, False]
    assert all((s.labels != 255).mean() > 0.5 for s in segs)
    # with device timestamps the gap is measured in time: 300 ms on (a slow network) is carried, a second is not
    video.reset()
    timed = [RGBDFrame(f.color, f.depth, 0.001, f.intrinsics, i, 1000.0 + ms)
             for i, (f, ms) in enumerate(zip(frames[:3], (0.0, 300.0, 300.0 + MAX_GAP_MS + 1), strict=True))]
    assert [video.segment(x).keyframe for x in timed] == [True, False, True]


def test_auto_takes_keyframes_by_its_reasons(walk, segmenter):
    frames, _, _ = walk
    video = VideoSegmenter(segmenter, VideoOptions(KeyframePolicy(None, max_interval=4)))
    segs = [video.segment(f) for f in frames]
    gaps = np.diff([i for i, s in enumerate(segs) if s.keyframe])
    assert segs[0].keyframe and (gaps <= 4).all() and sum(video.reasons.values()) == sum(s.keyframe for s in segs)


class Alternating:
    """A segmenter that flickers on a static scene: surely class 0 on even calls, narrowly class 1 on odd ones."""

    model_name, device, precision, weights, label_resolution = "fake", torch.device("cpu"), "fp32", None, "frame"

    def __init__(self, classes):
        self.classes = classes
        self.calls = 0

    def segment_with_probabilities(self, frame):
        p = torch.empty((1, 2, frame.height // 4, frame.width // 4))
        p[0, 0], p[0, 1] = (0.7, 0.3) if self.calls % 2 == 0 else (0.45, 0.55)
        self.calls += 1
        labels = np.full(frame.depth.shape, (self.calls - 1) % 2, np.uint8)
        return Segmentation(frame, labels, dict.fromkeys(SEGMENT_STAGES[:3] + SEGMENT_STAGES[4:], 1.0),
                            self.classes), p


def test_smoothing_steadies_labels_that_flicker(walk):
    frames, _, _ = walk
    still = [RGBDFrame(frames[0].color, frames[0].depth, 0.001, frames[0].intrinsics, i) for i in range(6)]
    classes = sgnet.frames.builtin_class_set("nyu40")
    plain = VideoSegmenter(Alternating(classes), VideoOptions(KeyframePolicy(1), refine=False))
    smooth = VideoSegmenter(Alternating(classes), VideoOptions(KeyframePolicy(1), refine=False, smooth=True))
    flips = [[int(s.labels[40, 64]) for s in map(v.segment, still)] for v in (plain, smooth)]
    assert flips[0] == [0, 1, 0, 1, 0, 1]
    assert flips[1] == [0] * 6  # the carried history outweighs the narrow swings


def test_video_mode_needs_class_probabilities():
    class Labels:
        model_name, device, precision, weights, classes = "x", "cpu", "fp32", None, None

        def segment(self, frame):  # pragma: no cover - never called
            raise AssertionError

    with pytest.raises(SGNetUserError, match="class probabilities"):
        VideoSegmenter(Labels())
