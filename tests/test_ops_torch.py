"""The pure-PyTorch backend: float64 exactness, gradients (gradcheck), block-wise columns, errors."""

from __future__ import annotations

import re

import pytest
import torch

import ops
from ops import torch_backend
from ops.reference import deform_conv2d_reference, random_case

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny shapes: see conftest

GRAD_CASES = {
    "basic": {"batch": 1, "in_channels": 2, "size": (4, 5), "out_channels": 3},
    "tiny-2x2": {"batch": 2, "in_channels": 2, "size": (3, 3), "out_channels": 2, "kernel": (2, 2), "padding": (0, 1)},
    "stride2-groups": {
        "batch": 2,
        "in_channels": 4,
        "size": (5, 5),
        "out_channels": 2,
        "stride": (2, 2),
        "groups": 2,
        "offset_groups": 2,
    },
    "dilated-far": {
        "batch": 1,
        "in_channels": 2,
        "size": (5, 4),
        "out_channels": 2,
        "kernel": (2, 3),
        "padding": (1, 2),
        "dilation": (2, 1),
        "offset_scale": 4.0,
    },
}


@pytest.fixture(autouse=True)
def _torch_backend():
    with ops.use_backend("torch"):
        yield


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_float64_matches_reference_exactly(name: str) -> None:
    case = random_case(seed=1, **GRAD_CASES[name])
    torch.testing.assert_close(ops.deform_conv2d(**case), deform_conv2d_reference(**case), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck_all_inputs(name: str) -> None:
    case = random_case(seed=2, **GRAD_CASES[name])
    # keep samples off the integer grid, where bilinear weights have kinks
    case["offset"] = case["offset"].round() + 0.25 + 0.5 * torch.rand_like(case["offset"])
    keys = ("input", "offset", "mask", "weight", "bias")
    tensors = [case[k].clone().requires_grad_() for k in keys]
    geom = {k: case[k] for k in ("stride", "padding", "dilation")}

    def fn(x, off, m, w, b):
        return ops.deform_conv2d(x, off, w, b, mask=m, **geom)

    assert torch.autograd.gradcheck(fn, tensors, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_gradcheck_dcnv1_without_bias() -> None:
    case = random_case(seed=3, batch=1, in_channels=3, size=(4, 4), out_channels=2, with_mask=False, with_bias=False)
    x = case["input"].clone().requires_grad_()
    off = (case["offset"].round() + 0.3).requires_grad_()
    w = case["weight"].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, o, b: ops.deform_conv2d(a, o, b, padding=1), [x, off, w])


def test_frozen_bias_gets_no_gradient_and_mask_grad_matches_autograd() -> None:
    case = random_case(dtype=torch.float32, seed=4)
    w = case["weight"].clone().requires_grad_()
    m = case["mask"].clone().requires_grad_()
    out = ops.deform_conv2d(case["input"], case["offset"], w, case["bias"], padding=1, mask=m)
    out.square().sum().backward()
    assert w.grad is not None and m.grad is not None and case["bias"].grad is None
    assert w.grad.abs().sum() > 0 and m.grad.abs().sum() > 0


def test_blockwise_columns_give_the_same_values_and_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    case = random_case(seed=5, batch=2, in_channels=4, size=(6, 7), out_channels=5, offset_groups=2)
    keys = ("input", "offset", "mask", "weight", "bias")

    def run():
        t = [case[k].clone().requires_grad_() for k in keys]
        out = ops.deform_conv2d(t[0], t[1], t[3], t[4], padding=1, mask=t[2])
        out.backward(torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out))
        return out.detach(), [x.grad for x in t]

    whole, whole_grads = run()
    # 3 output lines per forward block (a line is taps * out_w * channels * 8 bytes), 1 per backward block
    monkeypatch.setattr(torch_backend, "COLUMN_BUDGET_BYTES", 3 * 9 * 7 * 4 * 8)
    monkeypatch.setattr(torch_backend, "TAPS_SAMPLES", 9 * 7 * 2)  # and positions one row at a time
    geo = ops.geometry.check_call(case["input"], case["offset"], case["weight"], None, 1, 1, 1, None)
    assert torch_backend._block_lines(geo, 8) == 3
    blocked, blocked_grads = run()
    torch.testing.assert_close(blocked, whole, rtol=1e-12, atol=1e-12)
    for a, b in zip(blocked_grads, whole_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_inference_path_equals_autograd_path() -> None:
    case = random_case(dtype=torch.float32, seed=6)
    with torch.no_grad():
        plain = ops.deform_conv2d(**case)
    case["weight"].requires_grad_()
    tracked = ops.deform_conv2d(**case)
    assert tracked.requires_grad and not plain.requires_grad
    torch.testing.assert_close(tracked.detach(), plain, rtol=0, atol=0)


def test_dcnv1_equals_mask_of_ones() -> None:
    case = random_case(dtype=torch.float32, seed=7, with_mask=False)
    v1 = ops.deform_conv2d(**case)
    ones = torch.ones(2, 9, 5, 6)
    torch.testing.assert_close(ops.deform_conv2d(**{**case, "mask": ones}), v1, rtol=1e-6, atol=1e-6)


def test_cpu_autocast_runs_in_bfloat16() -> None:
    case = random_case(dtype=torch.float32, seed=8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = ops.deform_conv2d(**case)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), deform_conv2d_reference(**case), rtol=5e-2, atol=2e-1)


def test_nan_offsets_sample_zero_instead_of_crashing() -> None:
    case = random_case(dtype=torch.float32, seed=9, with_bias=False)
    case["offset"][:, :, 0, 0] = float("nan")
    out = ops.deform_conv2d(**case)
    assert torch.isfinite(out[:, :, 1:]).all()
    assert (out[:, :, 0, 0] == 0).all()


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"offset": torch.zeros(2, 17, 5, 6)}, ValueError, "offset must"),
        ({"offset": torch.zeros(2, 18, 4, 6)}, ValueError, "(2, 18, 5, 6)"),
        ({"mask": torch.zeros(2, 8, 5, 6)}, ValueError, "mask must have shape (2, 9, 5, 6)"),
        ({"weight": torch.zeros(6, 3, 3, 3)}, ValueError, "does not divide"),
        ({"bias": torch.zeros(5)}, ValueError, "bias must have shape (6,)"),
        ({"input": torch.zeros(4, 5, 6)}, ValueError, "input must be 4-D"),
        ({"input": torch.zeros(2, 4, 5, 6, dtype=torch.float64)}, TypeError, "share one dtype"),
        ({"stride": 0}, ValueError, "stride>=1"),
        ({"stride": (1, 2, 3)}, TypeError, "pair of ints"),
        ({"offset": torch.zeros(2, 18, 5, 6, dtype=torch.int64)}, TypeError, "floating-point"),
    ],
)
def test_user_mistakes_get_clear_errors(change: dict, error: type, words: str) -> None:
    case = random_case(dtype=torch.float32, seed=10)
    case.update(change)
    with pytest.raises(error, match=re.escape(words)):
        ops.deform_conv2d(**case)
