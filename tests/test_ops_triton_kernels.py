"""Triton kernels, forward and backward, against the pure-PyTorch backend.

Runs on CUDA when present, else on CPU under Triton's interpreter when TRITON_INTERPRET=1 was set
before start-up (tests/test_ops_triton.py launches this file that way); otherwise it skips.
"""

from __future__ import annotations

import pytest
import torch

import ops
from ops import backends
from ops.reference import random_case

if not backends.triton_importable():
    pytest.skip("triton is not installed", allow_module_level=True)
if backends.triton_interpreter():
    DEVICE = "cpu"
elif torch.cuda.is_available():
    DEVICE = "cuda"
else:
    pytest.skip("needs CUDA, or TRITON_INTERPRET=1 (see tests/test_ops_triton.py)", allow_module_level=True)

from ops import triton_backend  # noqa: E402  (imported only where its kernels can run)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny shapes: see conftest

KEYS = ("input", "offset", "mask", "weight", "bias")


@pytest.fixture(autouse=True)
def _ieee_fp32():
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def _forward_backward(backend: str, case: dict, dtype: torch.dtype, channels_last: bool = False):
    tensors = {}
    for k in KEYS:
        v = case[k]
        if v is None:
            tensors[k] = None
            continue
        v = v.detach().to(device=DEVICE, dtype=dtype).clone()
        if k == "input" and channels_last:
            v = v.contiguous(memory_format=torch.channels_last)
        tensors[k] = v.requires_grad_()
    with ops.use_backend(backend):
        out = ops.deform_conv2d(
            tensors["input"], tensors["offset"], tensors["weight"], tensors["bias"],
            case["stride"], case["padding"], case["dilation"], tensors["mask"],
        )  # fmt: skip
        seed = torch.Generator().manual_seed(0)
        grad = torch.randn(out.shape, generator=seed).to(device=DEVICE, dtype=dtype)
        out.backward(grad)
    grads = {k: (None if t is None else t.grad.float().cpu()) for k, t in tensors.items()}
    return out.detach().float().cpu(), grads


CASES = {
    "basic": {},
    "stride2-groups": {
        "in_channels": 6,
        "out_channels": 4,
        "size": (7, 8),
        "stride": (2, 2),
        "groups": 2,
        "offset_groups": 3,
    },
    "dilated-nonsquare": {"size": (7, 6), "kernel": (3, 2), "stride": (2, 1), "padding": (2, 0), "dilation": (2, 1)},
    "far-outside-no-mask": {"offset_scale": 15.0, "with_mask": False, "with_bias": False},
    "wide-channels": {"batch": 1, "in_channels": 40, "out_channels": 20, "size": (6, 5)},
}


@pytest.mark.parametrize("name", list(CASES))
def test_triton_matches_torch_backend_forward_and_backward(name: str) -> None:
    case = random_case(dtype=torch.float32, seed=len(name), **CASES[name])
    out_t, g_t = _forward_backward("torch", case, torch.float32)
    out_k, g_k = _forward_backward("triton", case, torch.float32)
    torch.testing.assert_close(out_k, out_t, rtol=1e-4, atol=1e-4)
    for k in KEYS:
        if g_t[k] is None:
            assert g_k[k] is None
            continue
        torch.testing.assert_close(g_k[k], g_t[k], rtol=1e-4, atol=1e-3, msg=lambda m, k=k: f"grad {k}: {m}")


def test_weight_gradient_split_over_many_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several programs each reduce part of M and add their weight gradient atomically."""
    case = random_case(dtype=torch.float32, batch=2, size=(9, 11), seed=21)  # M = 198 rows
    _, whole = _forward_backward("triton", case, torch.float32)
    monkeypatch.setattr(triton_backend, "WEIGHT_SPLIT_ROWS", 64)
    _, split = _forward_backward("triton", case, torch.float32)
    _, ref = _forward_backward("torch", case, torch.float32)
    torch.testing.assert_close(split["weight"], ref["weight"], rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(whole["weight"], ref["weight"], rtol=1e-4, atol=1e-3)


def test_channels_last_input_and_grad_layout() -> None:
    case = random_case(dtype=torch.float32, size=(6, 7), seed=22)
    out_t, g_t = _forward_backward("torch", case, torch.float32)
    out_k, g_k = _forward_backward("triton", case, torch.float32, channels_last=True)
    torch.testing.assert_close(out_k, out_t, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(g_k["input"], g_t["input"], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precisions_accumulate_in_fp32(dtype: torch.dtype) -> None:
    case = random_case(dtype=torch.float32, in_channels=16, out_channels=16, size=(6, 6), seed=23)
    out_t, g_t = _forward_backward("torch", case, torch.float32)
    out_k, g_k = _forward_backward("triton", case, dtype)
    tol = {"rtol": 5e-2, "atol": 2e-1} if dtype == torch.bfloat16 else {"rtol": 1e-2, "atol": 5e-2}
    torch.testing.assert_close(out_k, out_t, **tol)
    torch.testing.assert_close(g_k["weight"], g_t["weight"], rtol=tol["rtol"], atol=tol["atol"] * 10)
    torch.testing.assert_close(g_k["input"], g_t["input"], **tol)


def test_sconv_runs_on_triton() -> None:
    torch.manual_seed(0)
    m = ops.SConv(16, 16, stride=2, spatial_channels=16).to(DEVICE).eval()
    with torch.no_grad():
        m.offset_generator.weight.normal_(0, 0.3)
    x = torch.randn(1, 16, 8, 10, device=DEVICE)
    s = torch.rand(1, 3, 8, 10, device=DEVICE) * 3
    with torch.no_grad():
        with ops.use_backend("torch"):
            ref = m(x, s)
        with ops.use_backend("triton"):
            got = m(x, s)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)


def test_unsupported_dtype_is_a_clear_error() -> None:
    case = random_case(dtype=torch.float64, seed=24)
    case = {k: (v.to(DEVICE) if isinstance(v, torch.Tensor) else v) for k, v in case.items()}
    with ops.use_backend("triton"), pytest.raises(TypeError, match="float32, float16 and bfloat16"):
        ops.deform_conv2d(**case)
