"""Backend choice: set/get/use_backend, the environment variable, explicit choices that cannot run."""

from __future__ import annotations

import threading

import pytest
import torch

import ops
from ops import backends
from ops.reference import deform_conv2d_reference, random_case


@pytest.fixture(autouse=True)
def _restore_choice(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(backends.ENV_VAR, raising=False)
    monkeypatch.setattr(backends, "_global_choice", None)
    yield


def test_default_is_auto_and_auto_is_torch_on_cpu() -> None:
    assert ops.get_backend() == "auto"
    assert backends.resolve("cpu") == "torch"
    assert backends.resolve("cuda", "float64") == "torch"  # Triton kernels take fp32/fp16/bf16 only


def test_auto_picks_triton_for_cuda_when_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "triton_importable", lambda: True)
    assert backends.resolve("cuda", "float16") == "triton"
    monkeypatch.setattr(backends, "triton_importable", lambda: False)
    assert backends.resolve("cuda", "float16") == "torch"


def test_environment_variable_sets_the_starting_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(backends.ENV_VAR, "Torch")
    assert ops.get_backend() == "torch"
    monkeypatch.setenv(backends.ENV_VAR, "cudnn")
    with pytest.raises(ValueError, match="SGNET_OPS_BACKEND='cudnn' is not valid"):
        ops.get_backend()


def test_set_backend_overrides_env_and_context_overrides_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(backends.ENV_VAR, "torchvision")
    ops.set_backend("torch")
    assert ops.get_backend() == "torch"
    with ops.use_backend("triton"):
        assert ops.get_backend() == "triton"
        with ops.use_backend("auto"):
            assert ops.get_backend() == "auto"
        assert ops.get_backend() == "triton"
    assert ops.get_backend() == "torch"


def test_context_is_per_thread() -> None:
    seen = []
    with ops.use_backend("torch"):
        t = threading.Thread(target=lambda: seen.append(ops.get_backend()))
        t.start()
        t.join()
    assert seen == ["auto"]


def test_unknown_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="choose one of auto, torch, triton, torchvision"):
        ops.set_backend("cuda")


@pytest.mark.skipif(backends.triton_interpreter(), reason="the interpreter lets triton run on CPU")
@pytest.mark.skipif(not backends.triton_importable(), reason="triton is not installed (see the next test)")
def test_forcing_triton_on_cpu_explains_how_to_fix() -> None:
    case = random_case(dtype=torch.float32)
    with ops.use_backend("triton"), pytest.raises(ValueError, match="needs CUDA tensors"):
        ops.deform_conv2d(**case)


@pytest.mark.skipif(backends.triton_importable(), reason="triton is installed")
def test_forcing_triton_without_triton_explains_how_to_fix() -> None:
    case = random_case(dtype=torch.float32)
    with ops.use_backend("triton"), pytest.raises(ValueError, match="pip install triton"):
        ops.deform_conv2d(**case)


@pytest.mark.skipif(backends.torchvision_importable(), reason="torchvision is installed here")
def test_forcing_missing_torchvision_explains_how_to_fix() -> None:
    case = random_case(dtype=torch.float32)
    with ops.use_backend("torchvision"), pytest.raises(ValueError, match="torchvision is not importable"):
        ops.deform_conv2d(**case)


def test_available_backends_on_cpu() -> None:
    names = ops.available_backends("cpu")
    assert names[0] == "torch"
    assert ("torchvision" in names) == backends.torchvision_importable()


@pytest.mark.skipif(not backends.torchvision_importable(), reason="torchvision is not installed")
def test_torchvision_backend_matches_reference() -> None:
    case = random_case(dtype=torch.float32, seed=4, offset_groups=2)
    with ops.use_backend("torchvision"):
        got = ops.deform_conv2d(**case)
    torch.testing.assert_close(got, deform_conv2d_reference(**case), rtol=1e-4, atol=1e-4)
