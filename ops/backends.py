"""Which implementation runs `deform_conv2d`: one table of backends, the choice, its override and the env.

`TABLE` holds one `Backend` per implementation (module, function, what it needs, the devices it runs
on, the dtypes `auto` may send it, the messages that say how to fix a choice that cannot run), like
ultralytics' `export_formats()`: `BACKENDS`, `available_backends`, `resolve` and the dispatch in
`ops.functional` are all read from it, so a new backend is one entry.

`auto` picks Triton for CUDA tensors when Triton imports and the pure-PyTorch backend otherwise.
An explicit choice is honoured or fails loudly (never a silent fallback), so a benchmark or a test
that asks for a backend really measures that backend. `SGNET_OPS_BACKEND` sets the starting choice.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

ENV_VAR = "SGNET_OPS_BACKEND"


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


def _always() -> bool:
    """Default `Backend.importable`: the backend needs nothing beyond torch."""
    return True


def _any_device(device_type: str) -> bool:
    """Default `Backend.runs_on`: wherever torch has the tensor."""
    return True


@dataclass(frozen=True)
class Backend:
    """One row of `TABLE`: an implementation of `deform_conv2d` and when it can run.

    `function` is looked up in `module` on first use only, so an absent library costs nothing until
    that backend is chosen; it takes `(input, offset, mask, weight, bias, geo)`, already checked.
    """

    name: str  # what users type: set_backend, SGNET_OPS_BACKEND, `sgnet bench ops --backends`
    module: str
    function: str
    library: str = ""  # the package it needs, as messages name it ("Triton"); "" = only torch
    importable: Callable[[], bool] = _always  # whether `library` imports in this process
    install_hint: str = ""  # what to do when it does not
    devices: str = ""  # the device types it runs on, as messages name them ("CUDA"); "" = any
    runs_on: Callable[[str], bool] = _any_device  # whether it runs on tensors of this device type
    device_hint: str = ""  # what to do when it does not
    dtypes: tuple[str, ...] | None = None  # the dtypes its kernels take (`auto` sends it no other); None = all
    auto_devices: tuple[str, ...] = ()  # device types on which `auto` prefers it to `AUTO_FALLBACK`

    def why_not(self, device_type: str) -> str | None:
        """None when this backend can run on `device_type` here, else the message saying how to fix it."""
        if not self.importable():
            return f"ops backend {self.name!r} was requested but {self.library} is not importable; {self.install_hint}"
        if not self.runs_on(device_type):
            return f"ops backend {self.name!r} needs {self.devices} tensors (got {device_type}); {self.device_hint}"
        return None

    def load(self) -> Callable:
        """The implementing function (imports its module the first time)."""
        return getattr(importlib.import_module(self.module), self.function)


TRITON_DTYPES = ("float32", "float16", "bfloat16")

# The backends, in the order `available_backends` lists them. The availability checks are lambdas so
# that they look `triton_importable` & co. up when called (tests patch them on this module).
TABLE: tuple[Backend, ...] = (
    Backend("torch", "ops.torch_backend", "deform_conv2d_torch"),
    Backend(
        "triton",
        "ops.triton_backend",
        "deform_conv2d_triton",
        library="Triton",
        importable=lambda: triton_importable(),
        install_hint="install it (pip install triton) or use ops.set_backend('torch')",
        devices="CUDA",
        runs_on=lambda device_type: device_type == "cuda" or triton_interpreter(),
        device_hint="use ops.set_backend('torch') or, for tests only, set TRITON_INTERPRET=1 before importing triton",
        dtypes=TRITON_DTYPES,
        auto_devices=("cuda",),
    ),
    Backend(
        "torchvision",
        "ops.torchvision_backend",
        "deform_conv2d_torchvision",
        library="torchvision",
        importable=lambda: torchvision_importable(),
        install_hint="install it or use ops.set_backend('auto')",
    ),
    Backend("portable", "ops.portable", "deform_conv2d_portable"),  # grid_sample + conv2d: exports to ONNX
)
AUTO_FALLBACK = "torch"  # what `auto` runs when no entry's `auto_devices` and `dtypes` claim the call

_BY_NAME = {b.name: b for b in TABLE}
BACKENDS = ("auto", *_BY_NAME)


def lookup(name: str) -> Backend:
    """The table entry of a concrete backend name (not "auto"); KeyError if there is none."""
    return _BY_NAME[name]


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
    """Choose the backend for this process: one of `BACKENDS` ("auto", "torch", "triton", ...)."""
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


def available_backends(device_type: str = "cpu") -> list[str]:
    """Backends that can run on tensors of this device type ("cpu" or "cuda") in this process."""
    return [b.name for b in TABLE if b.why_not(device_type) is None]


def resolve(device_type: str, dtype_name: str = "float32") -> str:
    """The concrete backend for a call on this device type and dtype; raises if an explicit choice cannot run."""
    choice = get_backend()
    if choice == "auto":
        for b in TABLE:
            if device_type in b.auto_devices and (b.dtypes is None or dtype_name in b.dtypes) and b.importable():
                return b.name
        return AUTO_FALLBACK
    problem = lookup(choice).why_not(device_type)
    if problem is not None:
        raise ValueError(problem)
    return choice
