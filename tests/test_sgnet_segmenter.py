"""Segmenter: official preprocessing, resizing with intrinsics, upsample+argmax, timings, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hha
import sgnet
from sgnet.frames import NO_PREDICTION, Intrinsics, RGBDFrame
from sgnet.segmenter import STAGES, fit_size

H, W = 60, 80


def make_frame(h: int = H, w: int = W, seed: int = 0, depth_scale: float = 0.001) -> RGBDFrame:
    rng = np.random.default_rng(seed)
    color = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    depth = rng.integers(300, 5000, (h, w)).astype(np.uint16)
    depth[:5, :5] = 0  # a hole
    intr = Intrinsics(w, h, 0.9 * w, 0.95 * w, w / 2 - 0.3, h / 2 + 0.7)
    return RGBDFrame(color=color, depth=depth, depth_scale=depth_scale, intrinsics=intr, index=seed)


class RecordingStub(nn.Module):
    """Quarter-resolution logits that depend on the image; records what it was given."""

    def __init__(self, num_classes: int = 5, nan_corner: bool = False) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.nan_corner = nan_corner
        self.proj = nn.Conv2d(3, num_classes, 1)
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, image, xyz):
        self.calls.append((image.clone(), xyz.clone()))
        out = self.proj(F.avg_pool2d(image, 4))
        if self.nan_corner:
            out[:, :, :2, :2] = float("nan")
        return out


def expected_image(frame: RGBDFrame) -> np.ndarray:
    rgb = frame.color.astype(np.float32) - np.array([122.675, 116.669, 104.008], np.float32)
    return rgb[:, :, ::-1].transpose(2, 0, 1)  # BGR, CHW, 0..255 scale


def test_official_preprocessing_and_full_size_labels():
    stub = RecordingStub()
    seg = sgnet.Segmenter(stub, device="cpu")
    frame = make_frame()
    res = seg.segment(frame)
    image, xyz = stub.calls[0]
    np.testing.assert_allclose(image[0].numpy(), expected_image(frame), rtol=0, atol=1e-4)
    z = frame.depth.astype(np.float32) * 0.001
    np.testing.assert_allclose(xyz[0, 2].numpy(), z, rtol=1e-6)
    fx, cx = frame.intrinsics.fx, frame.intrinsics.cx
    np.testing.assert_allclose(xyz[0, 0, :, 7].numpy(), (7 - cx) * z[:, 7] / fx, rtol=1e-5, atol=1e-7)
    assert xyz[0, :, 0, 0].abs().sum() == 0  # holes stay zero
    # labels: logits upsampled with align_corners=True to the frame size, then argmax
    with torch.no_grad():
        logits = stub.proj(F.avg_pool2d(image, 4))
        ref = F.interpolate(logits, size=(H, W), mode="bilinear", align_corners=True).argmax(1)[0].numpy()
    assert res.labels.dtype == np.uint8 and res.labels.shape == (H, W)
    np.testing.assert_array_equal(res.labels, ref)
    assert list(res.timings) == list(STAGES) and all(v >= 0 for v in res.timings.values())
    assert res.frame is frame


def test_input_size_scales_intrinsics_and_depth_nearest():
    stub = RecordingStub()
    seg = sgnet.Segmenter(stub, device="cpu", input_size=(30, 40))
    frame = make_frame()
    res = seg.segment(frame)
    image, xyz = stub.calls[0]
    assert image.shape == (1, 3, 30, 40) and xyz.shape == (1, 3, 30, 40)
    assert res.labels.shape == (H, W)
    small = frame.intrinsics.scaled(40, 30)
    z = frame.depth[1::2, 1::2].astype(np.float32) * 0.001  # nearest-exact 2x: pixel centres 2i+1
    np.testing.assert_allclose(xyz[0, 2].numpy(), z, rtol=1e-6)
    np.testing.assert_allclose(xyz[0, 0, :, 3].numpy(), (3 - small.cx) * z[:, 3] / small.fx, rtol=1e-5, atol=1e-7)


def test_label_resolution_input_argmaxes_at_model_size_then_nearest():
    stub = RecordingStub()
    frame = make_frame()
    fast = sgnet.Segmenter(stub, device="cpu", input_size=(30, 40), label_resolution="input").segment(frame)
    image = stub.calls[0][0]
    with torch.no_grad():
        logits = stub.proj(F.avg_pool2d(image, 4))
        small = F.interpolate(logits, size=(30, 40), mode="bilinear", align_corners=True).argmax(1)[0].numpy()
    np.testing.assert_array_equal(fast.labels, np.repeat(np.repeat(small, 2, 0), 2, 1))  # exact 2x nearest
    with pytest.raises(sgnet.SGNetUserError, match="label_resolution"):
        sgnet.Segmenter(stub, device="cpu", label_resolution="half")


def test_default_input_size_is_fitted_to_the_frame_aspect():
    stub = RecordingStub()
    stub.default_input_size = (24, 32)
    seg = sgnet.Segmenter(stub, device="cpu")
    seg.segment(make_frame(30, 80))
    assert tuple(stub.calls[-1][0].shape[-2:]) == (12, 32)
    assert fit_size(480, 640, (240, 320)) == (240, 320) and fit_size(720, 1280, (240, 320)) == (180, 320)
    assert fit_size(100, 100, (240, 320)) == (100, 100)  # never upscales


def test_nyu_xyz_mode_matches_the_official_loader():
    stub = RecordingStub()
    frame = make_frame()
    sgnet.Segmenter(stub, device="cpu", xyz_mode="nyu").segment(frame)
    ref = hha.nyu_official_xyz(torch.from_numpy(frame.depth.astype(np.float32)))
    torch.testing.assert_close(stub.calls[0][1][0], ref)


def test_non_finite_logits_become_no_prediction():
    seg = sgnet.Segmenter(RecordingStub(nan_corner=True), device="cpu")
    labels = seg.segment(make_frame()).labels
    assert (labels[:4, :4] == NO_PREDICTION).all()
    assert (labels[H // 2 :, W // 2 :] < 5).all()


def test_confidence_is_the_winning_probability_upsampled_and_zero_without_prediction():
    stub = RecordingStub(nan_corner=True)
    seg = sgnet.Segmenter(stub, device="cpu")
    frame = make_frame()
    res = seg.segment(frame)
    image, _ = stub.calls[0]
    with torch.no_grad():
        logits = torch.nan_to_num(stub.proj(F.avg_pool2d(image, 4)))
        logits[:, :, :2, :2] = 0.0
        top = torch.softmax(logits, 1).amax(1, keepdim=True)
        ref = F.interpolate(top, size=(H, W), mode="bilinear", align_corners=True)[0, 0].numpy()
    conf = res.confidence
    assert conf.dtype == np.float32 and conf.shape == (H, W) and not conf.flags.writeable
    good = res.labels != NO_PREDICTION
    np.testing.assert_allclose(conf[good], ref[good], rtol=1e-5, atol=1e-6)
    assert (conf[~good] == 0).all() and (~good).any()
    assert conf.min() >= 0 and conf.max() <= 1 and conf[good].min() >= 1 / 5 - 1e-6  # 5 classes: at least 1/5
    assert sgnet.Segmenter(RecordingStub(), device="cpu", confidence=False).segment(frame).confidence is None


def test_probabilities_for_video_mode_are_in_the_output_class_set():
    seg = sgnet.Segmenter(RecordingStub(num_classes=40), device="cpu", classes="nyu13")
    res, probs = seg.segment_with_probabilities(make_frame())
    assert probs.shape == (1, 13, H // 4, W // 4)
    assert torch.all(probs.sum(1) <= 1 + 1e-5)
    # the confidence is the merged set's winner (sums of NYU40 probabilities), not NYU40's
    top = F.interpolate(probs.amax(1, keepdim=True), size=(H, W), mode="bilinear", align_corners=True)
    np.testing.assert_allclose(res.confidence, top[0, 0].numpy(), rtol=1e-5, atol=1e-6)


def test_batch_keeps_order_and_sizes():
    stub = RecordingStub()
    seg = sgnet.Segmenter(stub, device="cpu")
    frames = [make_frame(seed=1), make_frame(40, 48, seed=2), make_frame(seed=3, depth_scale=0.0001)]
    out = seg.segment_batch(frames)
    assert [r.frame for r in out] == frames
    assert [r.labels.shape for r in out] == [(H, W), (40, 48), (H, W)]
    assert len(stub.calls) == 2 and stub.calls[0][0].shape[0] == 2  # one forward per size
    # per-frame depth scale honoured inside one batch
    np.testing.assert_allclose(stub.calls[0][1][1, 2].numpy(), frames[2].depth * np.float32(0.0001), rtol=1e-6)
    single = sgnet.Segmenter(stub, device="cpu").segment(frames[0]).labels
    np.testing.assert_array_equal(out[0].labels, single)
    assert seg.segment_batch([]) == []


def test_real_model_by_name_with_weights_and_bf16(tmp_path):
    model = sgnet.create_model("sgnet_lite")
    path = sgnet.save_weights(model, tmp_path / "lite.safetensors")
    seg = sgnet.Segmenter("sgnet_lite", weights=str(path), device="cpu", input_size=(48, 64))
    assert seg.model_name == "sgnet_lite" and seg.num_classes == 40 and len(seg.class_names) == 40
    assert seg.device == torch.device("cpu")
    res = seg.segment(make_frame())
    assert res.labels.shape == (H, W) and res.labels.max() < 40
    named = sgnet.Segmenter(None, weights=path, device="cpu", input_size=(48, 64))  # model from metadata
    assert named.model_name == "sgnet_lite"
    np.testing.assert_array_equal(named.segment(make_frame()).labels, res.labels)
    bf16 = sgnet.Segmenter(model, device="cpu", precision="bf16", input_size=(48, 64), channels_last=True)
    assert bf16.segment(make_frame()).labels.shape == (H, W)


def test_user_errors_are_sgnet_user_errors(tmp_path):
    if not torch.cuda.is_available():
        with pytest.raises(sgnet.DeviceUnavailableError, match="CUDA is not available"):
            sgnet.Segmenter("sgnet_lite", device="cuda")
    with pytest.raises(sgnet.DeviceUnavailableError, match="CUDA graphs"):
        sgnet.Segmenter(RecordingStub(), device="cpu", cuda_graphs=True)
    with pytest.raises(sgnet.UnknownModelError):
        sgnet.Segmenter("nope")
    with pytest.raises(sgnet.SGNetUserError, match="precision"):
        sgnet.Segmenter(RecordingStub(), device="cpu", precision="fp8")
    with pytest.raises(sgnet.SGNetUserError, match="xyz_mode"):
        sgnet.Segmenter(RecordingStub(), device="cpu", xyz_mode="hha")
    path = sgnet.save_weights(sgnet.create_model("sgnet_r18"), tmp_path / "r18.safetensors")
    with pytest.raises(sgnet.WeightsMismatchError, match="sgnet_lite"):
        sgnet.Segmenter("sgnet_lite", weights=str(path), device="cpu")
    with pytest.raises(sgnet.SGNetUserError, match="RGBDFrame"):
        sgnet.Segmenter(RecordingStub(), device="cpu").segment_batch([np.zeros((4, 4))])


@pytest.mark.gpu
def test_cuda_fp16_and_cuda_graphs_match_fp32():
    frame = make_frame(120, 160)
    base = sgnet.Segmenter("sgnet_lite", device="cuda")
    ref = base.segment(frame)
    graphs = sgnet.Segmenter(base.module, device="cuda", cuda_graphs=True)
    for _ in range(3):  # capture, then replays
        out = graphs.segment(frame)
    np.testing.assert_array_equal(out.labels, ref.labels)
    half = sgnet.Segmenter(base.module, device="cuda", precision="fp16", channels_last=True).segment(frame)
    assert (half.labels == ref.labels).mean() > 0.98
    assert list(out.timings) == list(STAGES)
