"""The backend table: one entry per name, the only source of availability, resolution and dispatch.

Every test picks its backend with `ops.use_backend`, which wins over `set_backend` and the env."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest
import torch

import ops
from ops import backends
from ops.reference import deform_conv2d_reference, random_case

_CALLS: list[str] = []


def _spy_backend(x, offset, mask, weight, bias, geo):
    """Stands in for a table entry's function: records the call, then runs the torch backend."""
    from ops.torch_backend import deform_conv2d_torch

    _CALLS.append(type(geo).__name__)
    return deform_conv2d_torch(x, offset, mask, weight, bias, geo)


def test_every_backend_name_has_exactly_one_entry() -> None:
    names = [b.name for b in backends.TABLE]
    assert len(names) == len(set(names))
    assert ("auto", *names) == backends.BACKENDS
    assert backends.AUTO_FALLBACK in names
    for name in backends.BACKENDS[1:]:
        assert [b for b in backends.TABLE if b.name == name] == [backends.lookup(name)]


@pytest.mark.parametrize("entry", backends.TABLE, ids=lambda b: b.name)
def test_entry_points_at_an_existing_function(entry: backends.Backend) -> None:
    assert importlib.util.find_spec(entry.module) is not None, entry.module
    if entry.why_not("cuda") is None or entry.why_not("cpu") is None:  # its library imports here
        assert callable(entry.load())


@pytest.mark.parametrize("device_type", ["cpu", "cuda"])
@pytest.mark.parametrize("entry", backends.TABLE, ids=lambda b: b.name)
def test_resolve_and_available_follow_the_entry(entry: backends.Backend, device_type: str) -> None:
    problem = entry.why_not(device_type)
    with ops.use_backend(entry.name):
        if problem is None:
            assert backends.resolve(device_type) == entry.name
            assert entry.name in ops.available_backends(device_type)
        else:
            with pytest.raises(ValueError) as info:
                backends.resolve(device_type)
            assert str(info.value) == problem
            assert entry.name not in ops.available_backends(device_type)


def test_missing_library_message_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "triton_importable", lambda: False)
    assert backends.lookup("triton").why_not("cuda") == (
        "ops backend 'triton' was requested but Triton is not importable; install it "
        "(pip install triton) or use ops.set_backend('torch')"
    )


def test_dispatch_goes_through_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = dataclasses.replace(backends.lookup("torch"), module=__name__, function="_spy_backend")
    monkeypatch.setitem(backends._BY_NAME, "torch", spy)
    _CALLS.clear()
    case = random_case(dtype=torch.float32, seed=2)
    with ops.use_backend("torch"):
        got = ops.deform_conv2d(**case)
    assert _CALLS == ["ConvGeometry"]
    torch.testing.assert_close(got, deform_conv2d_reference(**case), rtol=1e-4, atol=1e-4)
