"""hha.depth_to_xyz and hha.nyu_official_xyz: geometry by hand, batching, conventions, bad input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

import hha


@dataclass(frozen=True)
class Cam:
    fx: float
    fy: float
    cx: float
    cy: float


CAM = Cam(500.0, 400.0, 5.0, 2.0)


def test_known_pixel_zero_based():
    d = torch.zeros(6, 10)
    d[3, 7] = 2.0
    xyz = hha.depth_to_xyz(d, CAM)
    assert xyz.shape == (3, 6, 10)
    assert xyz[0, 3, 7].item() == pytest.approx((7 - 5) * 2.0 / 500)
    assert xyz[1, 3, 7].item() == pytest.approx((3 - 2) * 2.0 / 400)
    assert xyz[2, 3, 7].item() == 2.0
    # the principal point lies on the optical axis
    d[2, 5] = 1.5
    xyz = hha.depth_to_xyz(d, CAM)
    assert xyz[0, 2, 5].item() == 0.0 and xyz[1, 2, 5].item() == 0.0


def test_one_based_convention_shifts_by_one_pixel():
    d = torch.full((6, 10), 3.0)
    a = hha.depth_to_xyz(d, CAM, convention="one_based")
    b = hha.depth_to_xyz(d, Cam(500.0, 400.0, 4.0, 1.0))
    torch.testing.assert_close(a, b)
    assert a[0, 0, 0].item() == pytest.approx((0 + 1 - 5) * 3.0 / 500)


def test_missing_and_bad_values_give_zero_points():
    d = torch.full((4, 5), 1.0)
    d[0, 0] = 0.0
    d[1, 1] = float("nan")
    d[2, 2] = float("inf")
    d[3, 3] = -1.0
    xyz = hha.depth_to_xyz(d, CAM)
    for r, c in [(0, 0), (1, 1), (2, 2), (3, 3)]:
        assert torch.equal(xyz[:, r, c], torch.zeros(3))
    assert torch.isfinite(xyz).all()
    assert xyz[2, 0, 1].item() == 1.0


def test_intrinsics_forms_agree():
    d = torch.rand(2, 6, 10) + 0.5
    ref = hha.depth_to_xyz(d, CAM)
    for form in [(500.0, 400.0, 5.0, 2.0), torch.tensor([500.0, 400.0, 5.0, 2.0]), np.array([500, 400, 5, 2.0])]:
        torch.testing.assert_close(hha.depth_to_xyz(d, form), ref)


def test_per_sample_intrinsics_equal_loop_of_singles():
    d = torch.rand(3, 6, 10) + 0.5
    cams = [Cam(500.0, 400.0, 5.0, 2.0), Cam(300.0, 310.0, 4.5, 2.5), Cam(600.0, 600.0, 0.0, 0.0)]
    tab = torch.tensor([[c.fx, c.fy, c.cx, c.cy] for c in cams])
    batched = hha.depth_to_xyz(d, tab)
    listed = hha.depth_to_xyz(d, cams)
    loop = torch.stack([hha.depth_to_xyz(d[i], cams[i]) for i in range(3)])
    assert batched.shape == (3, 3, 6, 10)
    torch.testing.assert_close(batched, loop)
    torch.testing.assert_close(listed, loop)
    # extra leading dims broadcast per sample along the first one
    d4 = d[:, None]
    torch.testing.assert_close(hha.depth_to_xyz(d4, tab)[:, 0], loop)


def test_dtype_and_device_follow_input():
    d64 = torch.rand(5, 7, dtype=torch.float64) + 1
    out = hha.depth_to_xyz(d64, CAM)
    assert out.dtype == torch.float64 and out.device == d64.device
    assert hha.depth_to_xyz(d64.half(), CAM).dtype == torch.float16
    # numpy input is accepted and gives a tensor
    assert isinstance(hha.depth_to_xyz(d64.numpy(), CAM), torch.Tensor)


def test_ray_direction_is_independent_of_depth():
    d = torch.rand(6, 10) * 5 + 0.2
    xyz = hha.depth_to_xyz(d, CAM)
    ray = xyz / xyz[2:3]
    u = torch.arange(10.0)
    torch.testing.assert_close(ray[0], ((u - 5) / 500).expand(6, 10))


@pytest.mark.parametrize(
    "depth, intr, exc, words",
    [
        (torch.zeros(4, 5, dtype=torch.int32), CAM, TypeError, "floating-point"),
        (torch.zeros(5), CAM, ValueError, "(..., H, W)"),
        ([[1.0, 2.0]], CAM, TypeError, "torch.Tensor"),
        (torch.zeros(4, 5), (1.0, 2.0, 3.0), TypeError, "fx, fy, cx, cy"),
        (torch.zeros(4, 5), torch.zeros(2, 4) + 1, ValueError, "per-sample"),
        (torch.zeros(3, 4, 5), torch.ones(2, 4), ValueError, "per-sample"),
        (torch.zeros(4, 5), torch.ones(3, 3), ValueError, "(N, 4)"),
        (torch.zeros(4, 5), (0.0, 1.0, 1.0, 1.0), ValueError, "positive"),
        (torch.zeros(4, 5), (float("nan"), 1.0, 1.0, 1.0), ValueError, "finite"),
    ],
)
def test_bad_input_raises_clear_errors(depth, intr, exc, words):
    with pytest.raises(exc, match=None) as info:
        hha.depth_to_xyz(depth, intr)
    assert words in str(info.value)


def test_bad_convention():
    with pytest.raises(ValueError, match="convention"):
        hha.depth_to_xyz(torch.ones(2, 2), CAM, convention="matlab")


def _official_numpy(raw: np.ndarray) -> np.ndarray:
    """The loader's arithmetic written out with numpy (float32 PIL array, float64 math, float32 out)."""
    z = raw.astype(np.float32)[None]
    _, h, w = z.shape
    xx, yy = np.meshgrid(np.arange(w) + 1, np.arange(h) + 1)
    x = (xx - w / 2.0) * z / 518.857
    y = (yy - h / 2.0) * z / 519.469
    return (np.concatenate([x, y, z], axis=0) / 1000.0).astype(np.float32)


def test_official_variant_matches_its_formula_bit_for_bit():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 10000, size=(48, 64)).astype(np.uint16)
    raw[::7, ::5] = 0
    out = hha.nyu_official_xyz(torch.from_numpy(raw.astype(np.int32)))
    assert out.dtype == torch.float32 and out.shape == (3, 48, 64)
    assert np.array_equal(out.numpy(), _official_numpy(raw))


def test_official_variant_known_pixel_and_batch():
    raw = torch.zeros(2, 480, 640, dtype=torch.int32)
    raw[0, 0, 0] = 1000  # 1 m at the top-left pixel (1-based u = v = 1)
    raw[1, 479, 639] = 2500
    out = hha.nyu_official_xyz(raw)
    assert out.shape == (2, 3, 480, 640)
    assert out[0, 0, 0, 0].item() == pytest.approx((1 - 320) / 518.857, rel=1e-6)
    assert out[0, 1, 0, 0].item() == pytest.approx((1 - 240) / 519.469, rel=1e-6)
    assert out[0, 2, 0, 0].item() == 1.0
    assert out[1, 0, 479, 639].item() == pytest.approx((640 - 320) * 2.5 / 518.857, rel=1e-6)
    assert out[1, 1, 479, 639].item() == pytest.approx((480 - 240) * 2.5 / 519.469, rel=1e-6)
    assert torch.count_nonzero(out[1, 2]) == 1


def test_official_variant_differs_from_calibrated_intrinsics():
    # The official variant is not the calibrated camera: its principal point is the image
    # centre, so depth_to_xyz with NYU intrinsics gives different x, y for the same z.
    raw = torch.full((480, 640), 2000, dtype=torch.int32)
    off = hha.nyu_official_xyz(raw)
    cal = hha.depth_to_xyz(raw.float() / 1000, hha.NYU_INTRINSICS)
    torch.testing.assert_close(off[2], cal[2])
    assert (off[0] - cal[0]).abs().max() > 0.005


def test_official_variant_scale_and_bad_input():
    raw = torch.full((4, 6), 1000.0)
    a = hha.nyu_official_xyz(raw, scale=2.0)
    b = hha.nyu_official_xyz(raw)
    torch.testing.assert_close(a[:2] * 2, b[:2])
    with pytest.raises(TypeError, match="integer or float"):
        hha.nyu_official_xyz(torch.zeros(4, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="positive"):
        hha.nyu_official_xyz(raw, fx=-1.0)


@pytest.mark.gpu
def test_xyz_on_cuda_matches_cpu():
    d = torch.rand(2, 48, 64) + 0.3
    cpu = hha.depth_to_xyz(d, CAM)
    gpu = hha.depth_to_xyz(d.cuda(), CAM)
    assert gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu)
    assert hha.nyu_official_xyz((d * 1000).cuda()).is_cuda


def test_accepts_app_intrinsics_and_checks_their_size():
    from sgnet.frames import Intrinsics

    intr = Intrinsics(width=10, height=6, fx=500.0, fy=400.0, cx=5.0, cy=2.0)
    d = torch.rand(6, 10) + 0.5
    torch.testing.assert_close(hha.depth_to_xyz(d, intr), hha.depth_to_xyz(d, CAM))
    with pytest.raises(ValueError, match="10x6 image"):
        hha.depth_to_xyz(torch.rand(12, 20), intr)
