"""Every available backend against the loop transcription of spec §3.3 and against plain conv2d.

Backends run here: torch (CPU, and CUDA when present), torchvision when installed, and triton on CUDA
or, when TRITON_INTERPRET=1 is set (tests/test_ops_triton.py runs this file that way in a
subprocess), under Triton's CPU interpreter.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import ops
from ops import backends
from ops.reference import deform_conv2d_reference, random_case

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny shapes: see conftest


def _targets() -> list[tuple[str, str]]:
    out = [("torch", "cpu")]
    cuda = torch.cuda.is_available()
    if cuda:
        out.append(("torch", "cuda"))
    if backends.triton_importable() and (cuda or backends.triton_interpreter()):
        out.append(("triton", "cuda" if cuda else "cpu"))
    if backends.torchvision_importable():
        out.append(("torchvision", "cpu"))
    return out


TARGETS = [pytest.param(b, d, id=f"{b}-{d}", marks=[pytest.mark.gpu] if d == "cuda" else []) for b, d in _targets()]


@pytest.fixture(autouse=True)
def _ieee_fp32():
    # compare fp32 results at fp32 precision (no TF32) on CUDA
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _run(backend: str, device: str, case: dict) -> torch.Tensor:
    moved = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in case.items()}
    with ops.use_backend(backend):
        return ops.deform_conv2d(**moved).cpu()


CASES = {
    "basic": {},
    "stride2": {"size": (7, 8), "stride": (2, 2)},
    "nonsquare-dilated": {"size": (7, 6), "kernel": (3, 2), "stride": (2, 1), "padding": (2, 0), "dilation": (2, 1)},
    "groups": {"in_channels": 6, "out_channels": 4, "groups": 2, "offset_groups": 3},
    "offset-groups-2": {"in_channels": 4, "offset_groups": 2},
    "far-outside": {"offset_scale": 20.0},
    "no-mask-no-bias": {"with_mask": False, "with_bias": False},
    "1x1-pad0": {"kernel": (1, 1), "padding": (0, 0), "offset_scale": 1.5},
    "batch1-wide": {"batch": 1, "in_channels": 5, "size": (4, 9), "out_channels": 3},
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize(("backend", "device"), TARGETS)
def test_matches_loop_reference(backend: str, device: str, name: str) -> None:
    case = random_case(dtype=torch.float32, seed=len(name), **CASES[name])
    expected = deform_conv2d_reference(**case)
    got = _run(backend, device, case)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def _boundary_case(h: int = 4, w: int = 3) -> dict:
    """1x1 kernel, no padding: each output samples exactly (p + dy, q + dx)."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(1, 2, h, w, generator=gen)
    dy = torch.zeros(h, w)
    dx = torch.zeros(h, w)
    dy[0] = -torch.linspace(0.05, 0.95, w)  # -1 < y < 0: part of row 0
    dy[h - 1] = torch.linspace(0.05, 0.95, w)  # H-1 < y < H: part of the last row
    dx[1] = torch.tensor([-0.5, 0.0, 0.5])[:w]  # -1 < x < 0 and W-1 < x < W
    dy[1, 1] = -2.0  # y = -1 exactly: zero
    dy[2, 1] = 2.0 - 1e-3  # y just below H... inside: 1e-3 of the last row
    offset = torch.stack([dy, dx])[None]
    return {"input": x, "offset": offset, "weight": torch.ones(1, 2, 1, 1), "padding": 0}


@pytest.mark.parametrize(("backend", "device"), TARGETS)
def test_boundary_fractions(backend: str, device: str) -> None:
    case = _boundary_case()
    got = _run(backend, device, case)
    x = case["input"][0].sum(0)  # the weight sums the two channels
    dy = case["offset"][0, 0]
    # y in (-1, 0): (1 - |dy|) of row 0; y in (H-1, H): (1 - dy) of the last row
    torch.testing.assert_close(got[0, 0, 0], (1 + dy[0]) * x[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got[0, 0, 3], (1 - dy[3]) * x[3], rtol=1e-5, atol=1e-5)
    assert got[0, 0, 1, 1].item() == 0.0  # y == -1 gives exactly 0
    torch.testing.assert_close(got[0, 0, 2, 1], 1e-3 * x[3, 1], rtol=1e-3, atol=1e-5)
    torch.testing.assert_close(got[0, 0, 1, 0], 0.5 * x[1, 0], rtol=1e-5, atol=1e-5)  # x = -0.5
    torch.testing.assert_close(got[0, 0, 1, 2], 0.5 * x[1, 2], rtol=1e-5, atol=1e-5)  # x = W - 0.5
    torch.testing.assert_close(got, deform_conv2d_reference(**case), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "geom",
    [
        {"stride": 1, "padding": 1, "dilation": 1, "groups": 1},
        {"stride": 2, "padding": 1, "dilation": 1, "groups": 1},
        {"stride": (1, 2), "padding": (2, 1), "dilation": (2, 1), "groups": 2},
    ],
)
@pytest.mark.parametrize(("backend", "device"), TARGETS)
def test_zero_offset_is_conv2d(backend: str, device: str, geom: dict) -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 9, 10, generator=gen)
    w = torch.randn(6, 4 // geom["groups"], 3, 3, generator=gen)
    b = torch.randn(6, generator=gen)
    expected = F.conv2d(x, w, b, geom["stride"], geom["padding"], geom["dilation"], geom["groups"])
    offset = torch.zeros(2, 18, *expected.shape[-2:])
    case = {
        "input": x,
        "offset": offset,
        "weight": w,
        "bias": b,
        "stride": geom["stride"],
        "padding": geom["padding"],
        "dilation": geom["dilation"],
    }
    torch.testing.assert_close(_run(backend, device, case), expected, rtol=1e-4, atol=1e-4)
    ones = torch.ones(2, 9, *expected.shape[-2:])
    torch.testing.assert_close(_run(backend, device, {**case, "mask": ones}), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("backend", "device"), TARGETS)
def test_unit_shift_moves_the_conv(backend: str, device: str) -> None:
    """dy = +1 everywhere equals conv2d one row further down (even channels are rows); dx likewise."""
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(1, 3, 8, 7, generator=gen)
    w = torch.randn(4, 3, 3, 3, generator=gen)
    plain = F.conv2d(x, w, padding=1)
    offset = torch.zeros(1, 18, 8, 7)
    offset[:, 0::2] = 1.0
    shifted = _run(backend, device, {"input": x, "offset": offset, "weight": w, "padding": 1})
    torch.testing.assert_close(shifted[:, :, :-1], plain[:, :, 1:], rtol=1e-4, atol=1e-4)
    offset = torch.zeros(1, 18, 8, 7)
    offset[:, 1::2] = -1.0
    shifted = _run(backend, device, {"input": x, "offset": offset, "weight": w, "padding": 1})
    torch.testing.assert_close(shifted[..., 1:], plain[..., :-1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("backend", "device"), TARGETS)
def test_channels_last_input(backend: str, device: str) -> None:
    case = random_case(dtype=torch.float32, size=(6, 7), seed=11)
    expected = deform_conv2d_reference(**case)
    case["input"] = case["input"].contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(_run(backend, device, case), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(("backend", "device"), TARGETS)
def test_low_precision(backend: str, device: str, dtype: torch.dtype) -> None:
    case = random_case(dtype=torch.float32, in_channels=8, out_channels=8, size=(6, 6), seed=13)
    expected = deform_conv2d_reference(**case)
    low = {k: (v.to(dtype) if isinstance(v, torch.Tensor) else v) for k, v in case.items()}
    got = _run(backend, device, low)
    assert got.dtype == dtype
    torch.testing.assert_close(got.float(), expected, rtol=3e-2, atol=1e-1)
