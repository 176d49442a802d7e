"""Which implementation runs `deform_conv2d`: the choice, its override and the environment variable.

`auto` picks Triton for CUDA tensors when Triton imports and the pure-PyTorch backend otherwise.
An explicit choice is honoured or fails loudly (never a silent fallback), so a benchmark or a test
that asks for a backend really measures that backend. `SGNET_OPS_BACKEND` sets the starting choice.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import threading
from collections.abc import Iterator

BACKENDS = ("auto", "torch", "triton", "torchvision")
ENV_VAR = "SGNET_OPS_BACKEND"

_state = threading.local()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(f"unknown ops backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name.lower()


def _default() -> str:
    raw = os.environ.get(ENV_VAR, "auto").strip() or "auto"
    try:
        return _check_name(raw)
    except ValueError as e:
        raise ValueError(f"{ENV_VAR}={raw!r} is not valid: {e}") from None


_global_choice: str | None = None


def set_backend(name: str) -> None:
    """Choose the backend for this process: "auto", "torch", "triton" or "torchvision"."""
    global _global_choice
    _global_choice = _check_name(name)


def get_backend() -> str:
    """The current choice (a context from `use_backend` wins over `set_backend`, which wins over the env)."""
    local = getattr(_state, "stack", None)
    if local:
        return local[-1]
    return _global_choice if _global_choice is not None else _default()


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Temporarily use one backend in this thread: `with ops.use_backend("torch"): ...`."""
    name = _check_name(name)
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()


@functools.cache
def triton_importable() -> bool:
    if importlib.util.find_spec("triton") is None:
        return False
    try:
        import triton  # noqa: F401
        import triton.language  # noqa: F401
    except Exception:  # a broken Triton install must not break the CPU path
        return False
    return True


def triton_interpreter() -> bool:
    """True when Triton kernels run in its CPU interpreter (TRITON_INTERPRET=1, tests only)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@functools.cache
def torchvision_importable() -> bool:
    if importlib.util.find_spec("torchvision") is None:
        return False
    try:
        import torchvision.ops  # noqa: F401
    except Exception:
        return False
    return True


def available_backends(device_type: str = "cpu") -> list[str]:
    """Backends that can run on tensors of this device type ("cpu" or "cuda") in this process."""
    names = ["torch"]
    if triton_importable() and (device_type == "cuda" or triton_interpreter()):
        names.append("triton")
    if torchvision_importable():
        names.append("torchvision")
    return names


TRITON_DTYPES = ("float32", "float16", "bfloat16")


def resolve(device_type: str, dtype_name: str = "float32") -> str:
    """The concrete backend for a call on this device type and dtype; raises if an explicit choice cannot run."""
    choice = get_backend()
    if choice == "auto":
        if device_type == "cuda" and dtype_name in TRITON_DTYPES and triton_importable():
            return "triton"
        return "torch"
    if choice == "triton":
        if not triton_importable():
            raise ValueError(
                "ops backend 'triton' was requested but Triton is not importable; install it "
                "(pip install triton) or use ops.set_backend('torch')"
            )
        if device_type != "cuda" and not triton_interpreter():
            raise ValueError(
                f"ops backend 'triton' needs CUDA tensors (got {device_type}); use ops.set_backend('torch') "
                "or, for tests only, set TRITON_INTERPRET=1 before importing triton"
            )
    if choice == "torchvision" and not torchvision_importable():
        raise ValueError(
            "ops backend 'torchvision' was requested but torchvision is not importable; install it "
            "or use ops.set_backend('auto')"
        )
    return choice
