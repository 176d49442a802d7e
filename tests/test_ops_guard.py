"""The GPU path guard (ops.guard): the comparison, the decision, the one warning, the fallback and the
error of an explicit choice.

The guard runs on CUDA only; here `GUARDED_DEVICE_TYPES` is widened to the CPU and deliberately
wrong backends are put in the backend table, so the whole decision runs on CPU tensors. The `gpu`
tests run the real backends on CUDA.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import torch

import ops
from ops import backends, guard
from ops.reference import random_case
from ops.torch_backend import deform_conv2d_torch

ROOT = Path(__file__).resolve().parents[1]
CALLS: list[str] = []


# -- deliberately wrong backends (table entries point here by module and function name) ------------
def shifted_backend(x, offset, mask, weight, bias, geo):
    """Samples a quarter pixel off: plausible numbers, wrong ones."""
    CALLS.append("shifted")
    return deform_conv2d_torch(x, offset + 0.25, mask, weight, bias, geo)


def raising_backend(x, offset, mask, weight, bias, geo):
    CALLS.append("raising")
    raise RuntimeError("no kernel image is available for execution on the device\nsecond line")


def wrong_in_fp16_backend(x, offset, mask, weight, bias, geo):
    CALLS.append("fp16")
    out = deform_conv2d_torch(x, offset, mask, weight, bias, geo)
    return out * 1.5 if x.dtype == torch.float16 else out


class _WrongGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g * 2.0


def wrong_gradient_backend(x, offset, mask, weight, bias, geo):
    """Right forward, doubled input gradient."""
    CALLS.append("grad")
    return deform_conv2d_torch(_WrongGradient.apply(x), offset, mask, weight, bias, geo)


def nan_backend(x, offset, mask, weight, bias, geo):
    out = deform_conv2d_torch(x, offset, mask, weight, bias, geo)
    return out.index_fill(1, torch.tensor([0], device=out.device), float("nan"))


@pytest.fixture(autouse=True)
def fresh_guard():
    guard.reset()
    CALLS.clear()
    yield
    guard.reset()


@pytest.fixture
def guard_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "GUARDED_DEVICE_TYPES", frozenset({"cuda", "cpu"}))


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch):
    """Put a backend in the table: first, so that `auto` prefers it on the CPU and on CUDA."""

    def add(name: str, function: str, auto: bool = True) -> backends.Backend:
        entry = backends.Backend(name, __name__, function, auto_devices=("cpu", "cuda") if auto else ())
        monkeypatch.setattr(backends, "TABLE", (entry, *backends.TABLE))
        monkeypatch.setitem(backends._BY_NAME, name, entry)
        monkeypatch.setattr(backends, "BACKENDS", (*backends.BACKENDS, name))
        return entry

    return add


def _case(dtype=torch.float32, grad=False, seed=3, device="cpu"):
    case = random_case(batch=1, in_channels=8, out_channels=8, size=(7, 8), dtype=dtype, seed=seed)
    for k in ("input", "offset", "weight", "bias", "mask"):
        case[k] = case[k].to(device).requires_grad_(grad)
    return case


def _expected(case):
    with ops.use_backend("torch"):
        return ops.deform_conv2d(**case)


def _guard_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, guard.OpsGuardWarning)]


# -- the comparison ---------------------------------------------------------------------------------
def test_compare_accepts_rounding_and_names_a_real_difference() -> None:
    want = torch.linspace(-4.0, 4.0, 50, dtype=torch.float64).view(5, 10)
    problem, rel = guard.compare(want.half(), want, 1e-2, "output")
    assert problem is None and 0 < rel < 1e-3
    problem, rel = guard.compare(want + 0.2, want, 1e-2, "case x, output")
    assert rel == pytest.approx(0.05)
    assert problem == "case x, output: max |error| 0.2 = 0.05 of max |reference| 4 (tolerance 0.01)"


def test_compare_rejects_nan_wrong_shape_and_missing_values() -> None:
    want = torch.ones(2, 3, dtype=torch.float64)
    bad = want.clone()
    bad[0, 1] = float("nan")
    assert guard.compare(bad, want, 1.0, "output")[0] == "output: 1 of 6 values are NaN or inf"
    assert guard.compare(want.T, want, 1.0, "output")[0] == "output: shape (3, 2) instead of (2, 3)"
    assert guard.compare(None, want, 1.0, "d mask")[0] == "d mask: no value (expected shape (2, 3))"


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_pure_torch_backend_passes_with_margin(dtype: torch.dtype, backward: bool) -> None:
    """The budget holds the pure-PyTorch backend's rounding ~10x over (the figures in ops/guard.py)."""
    v = guard.check_backend("torch", torch.device("cpu"), dtype, backward)
    assert v.ok, v.problem
    budget = guard.TOLERANCES[dtype] * (guard.GRAD_FACTOR if backward else 1.0)
    assert v.worst < budget / 5, (v.worst, budget)


def test_a_wrong_backend_fails_with_what_differs(register) -> None:
    register("shifted", "shifted_backend")
    v = guard.check_backend("shifted", torch.device("cpu"), torch.float32)
    assert not v.ok and v.worst > 0.2
    assert v.problem.startswith("case dcnv2, output: max |error| ")
    assert "(tolerance 0.01)" in v.problem


# -- the decision -----------------------------------------------------------------------------------
def test_off_the_guarded_devices_nothing_is_checked(register) -> None:
    register("shifted", "shifted_backend")
    case = _case()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ops.deform_conv2d(**case)  # the CPU is not guarded: the wrong backend runs, as chosen
    assert CALLS == ["shifted"] and not guard.verdicts()
    assert not torch.allclose(got, _expected(case))


def test_auto_falls_back_with_one_warning(register, guard_on_cpu) -> None:
    register("shifted", "shifted_backend")
    case = _case()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        first = ops.deform_conv2d(**case)
        checked = len(CALLS)
        second = ops.deform_conv2d(**case)
    said = _guard_warnings(record)
    assert len(said) == 1, said
    assert said[0].startswith("ops: S-Conv backend 'shifted' failed its self-check on cpu (torch ")
    assert "float32 forward — case dcnv2, output: max |error| " in said[0]
    assert "using the pure-PyTorch backend ('torch') for float32 on cpu" in said[0]
    assert "please report it" in said[0] and "tests/test_ops_guard.py" in said[0]
    assert checked == len(CALLS) == len(guard.CASES[:1])  # ran in the check only (stopped at the first case)
    torch.testing.assert_close(first, _expected(case))
    torch.testing.assert_close(second, first)
    assert {(v.backend, v.ok) for v in guard.verdicts()} == {("shifted", False), ("torch", True)}


def test_a_first_call_under_inference_mode_is_checked(register, guard_on_cpu) -> None:
    """The live app's first S-Conv call runs under torch.inference_mode; the check must still work there."""
    register("shifted", "shifted_backend")
    case = _case()
    with torch.inference_mode(), pytest.warns(guard.OpsGuardWarning, match="'shifted'"):
        got = ops.deform_conv2d(**case)
    torch.testing.assert_close(got, _expected(case))


def test_a_backend_that_raises_in_its_check_falls_back(register, guard_on_cpu) -> None:
    register("raising", "raising_backend")
    case = _case()
    with pytest.warns(guard.OpsGuardWarning, match="it raised RuntimeError: no kernel image is available"):
        got = ops.deform_conv2d(**case)
    torch.testing.assert_close(got, _expected(case))
    (v,) = [v for v in guard.verdicts() if v.backend == "raising"]
    assert "second line" not in v.problem


def test_nan_output_fails_the_check(register, guard_on_cpu) -> None:
    register("nan", "nan_backend")
    with pytest.warns(guard.OpsGuardWarning, match="values are NaN or inf"):
        ops.deform_conv2d(**_case())


def test_an_explicit_choice_that_fails_is_an_error_every_time(register, guard_on_cpu) -> None:
    register("shifted", "shifted_backend", auto=False)
    case = _case()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an error, not a warning
        for _ in range(2):
            with ops.use_backend("shifted"), pytest.raises(guard.BackendCheckError) as info:
                ops.deform_conv2d(**case)
    msg = str(info.value)
    assert msg.startswith("ops backend 'shifted' was requested but failed its self-check on cpu")
    assert "choose another (SGNET_OPS_BACKEND=torch, or auto" in msg and "please report it" in msg
    assert "\n" not in msg
    assert isinstance(info.value, ValueError)  # like resolve's errors for an explicit choice
    assert len(CALLS) == 1  # checked once; the second call raised from the cached verdict


def test_the_env_choice_is_explicit_too(register, guard_on_cpu, monkeypatch: pytest.MonkeyPatch) -> None:
    register("shifted", "shifted_backend", auto=False)
    monkeypatch.setenv(backends.ENV_VAR, "shifted")
    monkeypatch.setattr(backends, "_global_choice", None)
    with pytest.raises(guard.BackendCheckError, match="'shifted' was requested"):
        ops.deform_conv2d(**_case())


def test_a_failing_pure_torch_backend_has_no_fallback(guard_on_cpu, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = backends.Backend("torch", __name__, "shifted_backend")
    monkeypatch.setitem(backends._BY_NAME, "torch", wrong)
    with pytest.raises(guard.BackendCheckError) as info:
        ops.deform_conv2d(**_case())
    assert str(info.value).startswith("the pure-PyTorch S-Conv backend ('torch') failed its self-check on cpu")
    assert "run on the CPU (--device cpu)" in str(info.value)


def test_verdicts_are_per_dtype(register, guard_on_cpu) -> None:
    register("fp16", "wrong_in_fp16_backend")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ops.deform_conv2d(**_case(torch.float32))
        runs_fp32 = len(CALLS)
        half = _case(torch.float16)
        got = ops.deform_conv2d(**half)
    assert runs_fp32 == len(guard.CASES) + 1  # passed in float32: the check, then the call itself
    assert len(CALLS) == runs_fp32 + 1  # float16: its own check (failed at the first case), no call
    (said,) = _guard_warnings(record)
    assert "float16 forward" in said
    torch.testing.assert_close(got, _expected(half))


def test_a_call_that_needs_gradients_has_them_checked(register, guard_on_cpu) -> None:
    register("grad", "wrong_gradient_backend")
    plain = _case()
    ops.deform_conv2d(**plain)  # forward only: the backend is right there, and runs
    assert CALLS[-1] == "grad" and len(CALLS) == len(guard.CASES) + 1
    case = _case(grad=True)
    with pytest.warns(guard.OpsGuardWarning, match=r"float32 forward\+backward — case dcnv2, d input: "):
        out = ops.deform_conv2d(**case)
    out.sum().backward()
    ref = _case(grad=True)
    _expected(ref).sum().backward()
    torch.testing.assert_close(case["input"].grad, ref["input"].grad)


def test_the_check_runs_once_across_threads(register, guard_on_cpu, monkeypatch: pytest.MonkeyPatch) -> None:
    register("shifted", "shifted_backend")
    real, checks = guard.check_backend, []

    def slow_check(*args, **kwargs):
        checks.append(args[0])
        time.sleep(0.05)  # every thread arrives while the first one is checking
        return real(*args, **kwargs)

    monkeypatch.setattr(guard, "check_backend", slow_check)
    case = _case()
    results, errors = [], []

    def worker() -> None:
        try:
            results.append(ops.deform_conv2d(**case))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert checks == ["shifted", "torch"]
    assert len(_guard_warnings(record)) == 1
    want = _expected(case)
    for got in results:
        torch.testing.assert_close(got, want)


def test_backend_for_vets_up_front(register, guard_on_cpu) -> None:
    register("shifted", "shifted_backend")
    with pytest.warns(guard.OpsGuardWarning):
        assert guard.backend_for("cpu", torch.float16) == "torch"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert guard.backend_for("cpu", torch.float16) == "torch"  # decided: no second warning
        ops.deform_conv2d(**_case(torch.float16))
    assert len(CALLS) == 1


def test_a_compiled_caller_gets_the_same_decision(register, guard_on_cpu) -> None:
    """The check itself runs eagerly (torch.compiler.disable) when reached from a compiled function."""
    register("shifted", "shifted_backend")
    case = _case()

    def fn(x, offset, weight, bias, mask):
        return ops.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask) * 2

    compiled = torch.compile(fn, backend="eager", fullgraph=False)
    args = (case["input"], case["offset"], case["weight"], case["bias"], case["mask"])
    with pytest.warns(guard.OpsGuardWarning, match="'shifted'"):
        got = compiled(*args)
    torch.testing.assert_close(got, _expected(case) * 2)
    torch.testing.assert_close(compiled(*args), got)


@pytest.mark.skipif(not backends.triton_importable(), reason="triton is not installed")
def test_triton_kernels_pass_the_check_under_the_interpreter() -> None:
    """The real Triton backend through the real check (CPU interpreter, in a child: TRITON_INTERPRET)."""
    code = (
        "import torch; from ops import guard\n"
        "for dt in (torch.float32, torch.float16):\n"
        "    v = guard.check_backend('triton', torch.device('cpu'), dt)\n"
        "    assert v.ok, v.problem\n"
        "    print(dt, v.worst)\n"
    )
    env = {**os.environ, "TRITON_INTERPRET": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("torch.float") == 2


# -- on a GPU -----------------------------------------------------------------------------------
def _cuda_backends() -> list[str]:
    return [b for b in ops.available_backends("cuda") if b in ("torch", "triton", "torchvision")]


@pytest.mark.gpu
@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_every_cuda_backend_passes_its_check(dtype: torch.dtype, backward: bool) -> None:
    for name in _cuda_backends():
        v = guard.check_backend(name, torch.device("cuda"), dtype, backward)
        print(f"{name} {v.what}: worst {v.worst:.3g} (budget {guard.TOLERANCES[dtype]:g}) on {v.where}")
        assert v.ok, v.problem


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=str)
def test_auto_on_cuda_keeps_its_backend_without_a_warning(dtype: torch.dtype) -> None:
    case = _case(dtype, device="cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error", guard.OpsGuardWarning)
        with ops.use_backend("auto"):
            chosen = guard.backend_for("cuda", dtype)
            got = ops.deform_conv2d(**case)
    assert chosen == backends.resolve("cuda", str(dtype).removeprefix("torch."))
    want = _expected({k: v.cpu().double() if isinstance(v, torch.Tensor) else v for k, v in case.items()})
    torch.testing.assert_close(got.double().cpu(), want, rtol=2e-2, atol=2e-2)


@pytest.mark.gpu
def test_a_wrong_backend_on_cuda_falls_back(register) -> None:
    register("shifted", "shifted_backend")
    case = _case(device="cuda")
    with pytest.warns(guard.OpsGuardWarning, match=r"'shifted' failed its self-check on cuda:\d \(.*, sm_\d+"):
        got = ops.deform_conv2d(**case)
    with ops.use_backend("torch"):
        torch.testing.assert_close(got, ops.deform_conv2d(**case))


@pytest.mark.gpu
def test_a_first_call_inside_graph_capture_is_refused() -> None:
    case = _case(device="cuda")
    graph = torch.cuda.CUDAGraph()
    with pytest.raises(guard.BackendCheckError, match="inside a CUDA graph capture"), torch.cuda.graph(graph):
        ops.deform_conv2d(**case)
