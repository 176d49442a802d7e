"""Bad and degenerate input to the HHA functions: a defined result or one clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hha

CAM = (60.0, 60.0, 31.5, 23.5)


def scene() -> torch.Tensor:
    """A floor seen by a camera pitched down 30 deg, 1.2 m above it (48 x 64)."""
    u, v = np.meshgrid(np.arange(64.0), np.arange(48.0))
    g = np.array([0.0, np.cos(np.radians(30)), np.sin(np.radians(30))])
    den = g[0] * (u - CAM[2]) / CAM[0] + g[1] * (v - CAM[3]) / CAM[1] + g[2]
    return torch.from_numpy((1.2 / den).astype(np.float32))


def test_all_zero_depth_gives_the_documented_image():
    res = hha.depth_to_hha_full(torch.zeros(2, 48, 64), CAM)
    assert (res.hha[:, 0] == 255).all()  # missing reads as "very near"
    assert (res.hha[:, 1] == 130).all()  # camera assumed 130 cm above the floor
    assert (res.hha[:, 2] == 218).all()  # no normal
    torch.testing.assert_close(res.gravity, torch.tensor([[0.0, 1.0, 0.0]] * 2, dtype=torch.float64))
    assert torch.isnan(res.normals).all()


def test_nan_inf_and_negative_depth_count_as_missing():
    d = scene()
    bad = d.clone()
    bad[5:9, 5:9] = float("nan")
    bad[20:24, 30:34] = float("inf")
    bad[30:34, 40:44] = -2.0
    bad[0, 0] = float("-inf")
    zeroed = d.clone()
    for sl in [(slice(5, 9), slice(5, 9)), (slice(20, 24), slice(30, 34)), (slice(30, 34), slice(40, 44))]:
        zeroed[sl] = 0.0
    zeroed[0, 0] = 0.0
    a = hha.depth_to_hha_full(bad, CAM)
    b = hha.depth_to_hha_full(zeroed, CAM)
    assert torch.equal(a.hha, b.hha)
    assert torch.isfinite(a.gravity).all()
    assert (a.hha[0, 5:9, 5:9] == 255).all()
    assert torch.isfinite(bad[5:9, 5:9]).sum() == 0  # the caller's tensor is not modified


def test_single_valid_pixel_and_tiny_images_do_not_crash():
    d = torch.zeros(48, 64)
    d[10, 10] = 2.0
    out = hha.depth_to_hha(d, CAM)
    assert out.shape == (3, 48, 64) and out[0, 10, 10] == 155
    for h, w in [(1, 1), (2, 3), (5, 1)]:
        out = hha.depth_to_hha(torch.full((h, w), 1.5), (50.0, 50.0, 0.0, 0.0))
        assert out.shape == (3, h, w) and (out[0] == 207).all()


def test_numpy_input_is_accepted():
    d = scene().numpy()
    assert torch.equal(hha.depth_to_hha(d, CAM), hha.depth_to_hha(torch.from_numpy(d), CAM))


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"depth": torch.zeros(48, 64, dtype=torch.int16)}, TypeError, "floating-point metres"),
        ({"depth": torch.zeros(64)}, ValueError, "(..., H, W)"),
        ({"depth": torch.zeros(0, 64)}, ValueError, "empty"),
        ({"depth": "depth.png"}, TypeError, "torch.Tensor"),
        ({"missing_mask": torch.zeros(48, 64)}, TypeError, "boolean"),
        ({"missing_mask": torch.zeros(40, 64, dtype=torch.bool)}, ValueError, "does not match"),
        ({"missing_mask": [[True]]}, TypeError, "bool tensor"),
        ({"gravity": (0.0, 0.0, 0.0)}, ValueError, "non-zero"),
        ({"gravity": (0.0, 1.0)}, ValueError, "(3,)"),
        ({"gravity": (0.0, float("nan"), 1.0)}, ValueError, "finite"),
        ({"gravity": torch.ones(4, 3)}, ValueError, "batch shape"),
        ({"gravity": "down"}, TypeError, "3-vector"),
        ({"gravity_stride": 0}, ValueError, "gravity_stride"),
        ({"convention": "1"}, ValueError, "convention"),
        ({"intrinsics": (60.0, 60.0, 31.5)}, TypeError, "fx, fy, cx, cy"),
        ({"intrinsics": torch.ones(5, 4)}, ValueError, "per-sample"),
    ],
)
def test_bad_arguments_raise_one_clear_error(kwargs, exc, words):
    args = {"depth": scene(), "intrinsics": CAM}
    args.update(kwargs)
    depth, intr = args.pop("depth"), args.pop("intrinsics")
    with pytest.raises(exc) as info:
        hha.depth_to_hha(depth, intr, **args)
    assert words in str(info.value)


def test_surface_normals_and_gravity_validate_their_arguments():
    with pytest.raises(ValueError, match="radius"):
        hha.surface_normals(scene(), CAM, radius=0)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        hha.estimate_gravity(torch.zeros(2, 48, 64))
    # a frame without any normal keeps the camera's down
    g = hha.estimate_gravity(torch.full((3, 8, 8), float("nan")))
    torch.testing.assert_close(g, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
