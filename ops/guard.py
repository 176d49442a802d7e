"""The GPU path guard: every S-Conv backend proves itself once before it computes anything on a GPU.

Why: the Triton kernels were written and tested under Triton's CPU interpreter; a real GPU, another
Triton or PyTorch release or a driver may compile them differently, and a wrong S-Conv gives
plausible-looking but wrong labels, not a crash. So on CUDA the first call of each backend (Triton,
torchvision, the pure-PyTorch backend too) for each device, dtype and pass (forward, or forward with
gradients when the call needs them) first runs `CASES` — small random problems — and compares the
result with the pure-PyTorch backend in float64 on the CPU (itself tested against the official
kernel's loop transcription, `ops.reference`). The verdict is cached for the process.

- `auto` whose backend disagrees (or raises) falls back to the pure-PyTorch backend with ONE
  `OpsGuardWarning` naming the backend, the error found and how to report it.
- An explicit choice (`SGNET_OPS_BACKEND`, `ops.set_backend`, `ops.use_backend`) that fails raises
  `BackendCheckError` on every call: an explicit choice is honoured or fails loudly (as
  `ops.backends.resolve`).
- The pure-PyTorch backend failing on CUDA has nothing to fall back to: `BackendCheckError`.

Tolerance (`TOLERANCES`): the largest |error| over the largest |reference| of each compared tensor
(gradients: `GRAD_FACTOR` times more). The candidate's inputs are rounded to its dtype first and the
reference is computed from those same rounded values, so only the arithmetic is measured. The
pure-PyTorch backend on this CPU (docs/ops.md) gives float32 7e-7, float16 5e-4 (gradients 2e-3),
bfloat16 4e-3 (gradients 1.4e-2). TF32 (cuDNN's default for convs, and Triton's `tl.dot` for fp32)
rounds the operands to 10 mantissa bits like float16, so float32 gets float16's budget: 1e-2, about
20x what float16 needs; bfloat16 4e-2. Faults measured the same way (a quarter-pixel shift, a
dropped tap, one channel lost, the border rule broken) give 0.26 to 1.5.

`GUARDED_DEVICE_TYPES` says where the guard runs ("cuda"); tests add "cpu" to drive the decision,
the warning and the fallback with CPU tensors and a deliberately wrong backend.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from dataclasses import dataclass

import torch

from ops import backends
from ops.geometry import check_call
from ops.reference import random_case

GUARDED_DEVICE_TYPES: frozenset[str] = frozenset({"cuda"})

# max |error| / max |reference| allowed per dtype; gradients get GRAD_FACTOR times more
TOLERANCES: dict[torch.dtype, float] = {
    torch.float64: 1e-9,
    torch.float32: 1e-2,  # TF32 rounds like float16
    torch.float16: 1e-2,
    torch.bfloat16: 4e-2,
}
GRAD_FACTOR = 3.0
REPORT_HINT = (
    "please report it (an sgnet-live issue) with this message and the output of "
    "`python -m pytest -m gpu tests/test_ops_guard.py -q`"
)


@dataclass(frozen=True)
class Case:
    """One small problem of the check (arguments of `ops.reference.random_case`)."""

    name: str
    batch: int
    in_channels: int
    out_channels: int
    size: tuple[int, int]
    stride: tuple[int, int]
    offset_groups: int
    with_mask: bool
    with_bias: bool
    seed: int


# SGNet's two uses: the modulated S-Conv (DCNv2, with bias) and the DCNv1 weight generator; the second
# adds stride 2 and two deformable groups. Offsets spread about +-2 px, so samples cross the border.
CASES: tuple[Case, ...] = (
    Case("dcnv2", 2, 32, 32, (9, 11), (1, 1), 1, True, True, seed=16),
    Case("dcnv1-stride2-2groups", 1, 16, 24, (10, 9), (2, 2), 2, False, False, seed=17),
)


class BackendCheckError(ValueError):
    """An explicitly chosen backend (or the pure-PyTorch one, which has no fallback) failed its check."""


class OpsGuardWarning(RuntimeWarning):
    """`auto` left a backend that failed its check for the pure-PyTorch one."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one backend's check on one device, dtype and pass."""

    backend: str
    device: str
    dtype: str
    backward: bool
    ok: bool
    problem: str | None  # what disagreed (or what it raised); None when ok
    worst: float  # the largest error / max |reference| seen over all cases and tensors (nan if it raised)
    where: str  # the device, its capability and the library versions, for messages and reports

    @property
    def what(self) -> str:
        return f"{self.dtype} {'forward+backward' if self.backward else 'forward'}"


_VERDICTS: dict[tuple[str, str, str, bool], Verdict] = {}
_WARNED: set[tuple[str, str, str, bool]] = set()
_LOCK = threading.RLock()


def verdicts() -> list[Verdict]:
    """Every verdict reached in this process (for reports and `scripts/gpu-check.sh`)."""
    with _LOCK:
        return list(_VERDICTS.values())


def reset() -> None:
    """Forget every verdict (tests)."""
    with _LOCK:
        _VERDICTS.clear()
        _WARNED.clear()


def compare(got: torch.Tensor, want: torch.Tensor, tolerance: float, what: str) -> tuple[str | None, float]:
    """(None, error) when `got` matches the float64 `want`, else (what disagreed, error).

    error = max |got - want| / max |want|, the measure `TOLERANCES` bound; NaN/inf, a shape or a
    missing tensor always disagree.
    """
    if got is None:
        return f"{what}: no value (expected shape {tuple(want.shape)})", float("inf")
    if tuple(got.shape) != tuple(want.shape):
        return f"{what}: shape {tuple(got.shape)} instead of {tuple(want.shape)}", float("inf")
    g = got.detach().to("cpu", torch.float64)
    bad = int((~torch.isfinite(g)).sum())
    if bad:
        return f"{what}: {bad} of {g.numel()} values are NaN or inf", float("inf")
    scale = float(want.abs().max()) if want.numel() else 0.0
    err = float((g - want).abs().max()) if want.numel() else 0.0
    rel = err / scale if scale > 0 else err
    if rel > tolerance:
        return (
            f"{what}: max |error| {err:.3g} = {rel:.3g} of max |reference| {scale:.3g} (tolerance {tolerance:g})",
            rel,
        )
    return None, rel


def _where(device: torch.device) -> str:
    """The device, its capability and the library versions, for messages and reports."""
    from importlib.metadata import PackageNotFoundError, version

    libs = f"torch {torch.__version__}" + (f", CUDA {torch.version.cuda}" if torch.version.cuda else "")
    for dist, title in (("triton", "Triton"), ("torchvision", "torchvision")):
        with contextlib.suppress(PackageNotFoundError):
            libs += f", {title} {version(dist)}"
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        return f"{device} ({torch.cuda.get_device_name(device)}, sm_{major}{minor}; {libs})"
    return f"{device} ({libs})"


Pair = tuple[str, "torch.Tensor | None", torch.Tensor]


def _run_case(fn, case: Case, device: torch.device, dtype: torch.dtype, backward: bool) -> list[Pair]:
    """Run one case through `fn` and the float64 CPU reference; the (label, got, want) pairs to compare."""
    from ops.torch_backend import deform_conv2d_torch

    args = random_case(
        batch=case.batch, in_channels=case.in_channels, size=case.size, out_channels=case.out_channels,
        stride=case.stride, offset_groups=case.offset_groups, with_mask=case.with_mask,
        with_bias=case.with_bias, seed=case.seed,
    )  # fmt: skip
    names = ("input", "offset", "mask", "weight", "bias")
    # the candidate's values, and the same values in float64 on the CPU for the reference
    rounded = {k: None if args[k] is None else args[k].to(dtype) for k in names}
    # an offset that rounds to a whole number puts a sample exactly on the pixel grid, where the bilinear
    # sample has a kink and backends may take either side's slope (fp16/bf16 do this for ~1% of them):
    # a quarter pixel further keeps the offset gradient well defined
    off = rounded["offset"]
    rounded["offset"] = torch.where(off == off.round(), off + 0.25, off)
    cand = {k: None if v is None else v.to(device) for k, v in rounded.items()}
    ref = {k: None if v is None else v.to("cpu", torch.float64) for k, v in cand.items()}
    geo = check_call(ref["input"], ref["offset"], ref["weight"], ref["bias"],
                     args["stride"], args["padding"], args["dilation"], ref["mask"])  # fmt: skip
    gen = torch.Generator().manual_seed(case.seed + 1000)
    grad_out = torch.randn(geo.batch, geo.out_channels, geo.out_h, geo.out_w, generator=gen, dtype=torch.float64)
    outputs = {}
    for side, tensors, dev in (("got", cand, device), ("want", ref, torch.device("cpu"))):
        f = fn if side == "got" else deform_conv2d_torch
        with torch.set_grad_enabled(backward), torch.autocast(dev.type, enabled=False):
            leaves = {k: None if v is None else v.detach().requires_grad_(backward) for k, v in tensors.items()}
            out = f(leaves["input"], leaves["offset"], leaves["mask"], leaves["weight"], leaves["bias"], geo)
            res = {"output": out.detach()}
            if backward:
                out.backward(grad_out.to(out.dtype).to(dev))
                res.update({f"d {k}": leaves[k].grad for k in names if leaves[k] is not None})
        outputs[side] = res
    return [(label, outputs["got"].get(label), want) for label, want in outputs["want"].items()]


def check_backend(name: str, device: torch.device, dtype: torch.dtype, backward: bool = False) -> Verdict:
    """Run `CASES` through backend `name` on `device` in `dtype` and compare with the float64 CPU reference.

    Uncached (`backend_for` caches). A backend that raises fails the check with what it raised.
    """
    device = _full_device(device)
    tol = TOLERANCES.get(dtype, TOLERANCES[torch.float32])
    fn = backends.lookup(name).load()
    problem, worst = None, 0.0
    try:
        for case in CASES:
            with torch.inference_mode(False):  # the check's tensors are ordinary ones, whatever the caller runs in
                pairs = _run_case(fn, case, device, dtype, backward)
            for label, got, want in pairs:
                factor = 1.0 if label == "output" else GRAD_FACTOR
                found, rel = compare(got, want, tol * factor, f"case {case.name}, {label}")
                worst = max(worst, rel)
                if found is not None and problem is None:
                    problem = found
            if problem is not None:
                break
    except Exception as e:  # a kernel that does not compile or launch here fails like a wrong one
        first = (str(e).strip().splitlines() or [""])[0][:300]
        problem, worst = f"it raised {type(e).__name__}: {first}", float("nan")
    return Verdict(name, str(device), _dtype_name(dtype), backward, problem is None, problem, worst, _where(device))


def _full_device(device: torch.device | str) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _fallback_warning(v: Verdict) -> str:
    return (
        f"ops: S-Conv backend {v.backend!r} failed its self-check on {v.where}, {v.what} — {v.problem}; "
        f"using the pure-PyTorch backend ({backends.AUTO_FALLBACK!r}) for {v.dtype} on {v.device} in this "
        f"process instead (correct, slower); {REPORT_HINT} (SGNET_OPS_BACKEND={backends.AUTO_FALLBACK} "
        f"skips {v.backend!r} and this warning)"
    )


def _explicit_error(v: Verdict) -> str:
    return (
        f"ops backend {v.backend!r} was requested but failed its self-check on {v.where}, {v.what} — "
        f"{v.problem}; choose another (SGNET_OPS_BACKEND={backends.AUTO_FALLBACK}, or auto, which falls back "
        f"with a warning) and {REPORT_HINT}"
    )


def _reference_error(v: Verdict) -> str:
    return (
        f"the pure-PyTorch S-Conv backend ({v.backend!r}) failed its self-check on {v.where}, {v.what} — "
        f"{v.problem}; PyTorch's own kernels give wrong results on this device, so no S-Conv backend can be "
        f"trusted here: check the driver and the torch build, or run on the CPU (--device cpu), and {REPORT_HINT}"
    )


@torch.compiler.disable  # runs eagerly (and once) even when reached from a compiled model
def _decide(name: str, device: torch.device, dtype: torch.dtype, backward: bool) -> Verdict:
    key = (name, str(device), _dtype_name(dtype), backward)
    with _LOCK:
        v = _VERDICTS.get(key)
        if v is not None:
            return v
        if device.type == "cuda" and torch.cuda.is_current_stream_capturing():
            raise BackendCheckError(
                f"the first S-Conv call of backend {name!r} ({key[2]} on {device}) is inside a CUDA graph capture, "
                "where its self-check cannot run: run the model once before capturing (warm-up)"
            )
        v = check_backend(name, device, dtype, backward)
        _VERDICTS[key] = v
        return v


def vetted(name: str, device: torch.device, dtype: torch.dtype, explicit: bool, backward: bool = False) -> str:
    """The backend to run after the guard: `name` if it passed its check, else the pure-PyTorch one
    (auto: one warning) or `BackendCheckError` (explicit choice, or the pure-PyTorch backend failing)."""
    device = _full_device(device)
    v = _VERDICTS.get((name, str(device), _dtype_name(dtype), backward))  # the fast path: one dict lookup
    if v is None:
        v = _decide(name, device, dtype, backward)
    if v.ok:
        return name
    if name == backends.AUTO_FALLBACK:
        raise BackendCheckError(_reference_error(v))
    if explicit:
        raise BackendCheckError(_explicit_error(v))
    _warn_once(v)
    return vetted(backends.AUTO_FALLBACK, device, dtype, explicit=False, backward=backward)


def _warn_once(v: Verdict) -> None:
    """The fallback's one warning per verdict (whichever thread gets here first says it)."""
    key = (v.backend, v.device, v.dtype, v.backward)
    with _LOCK:
        if key in _WARNED:
            return
        _WARNED.add(key)
    warnings.warn(_fallback_warning(v), OpsGuardWarning, stacklevel=4)


def backend_for(device: torch.device | str, dtype: torch.dtype, backward: bool = False) -> str:
    """The backend a `deform_conv2d` call on `device` in `dtype` runs: the current choice resolved
    (`ops.backends.resolve`), then, on a guarded device, vetted (`vetted`).

    Call it up front (e.g. when a model is loaded) to have the check, and any warning or error, before
    the first frame rather than inside it.
    """
    device = torch.device(device)
    name = backends.resolve(device.type, _dtype_name(dtype))
    if device.type not in GUARDED_DEVICE_TYPES:
        return name
    return vetted(name, device, dtype, explicit=backends.get_backend() != "auto", backward=backward)
