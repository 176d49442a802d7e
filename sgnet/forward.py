"""Running a network for inference, shared by the `Segmenter`, evaluation and benchmarks: the
precision names users pick, the autocast each one means, and which output is the answer."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch

PRECISIONS = ("fp32", "fp16", "bf16")
_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def autocast_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Autocast for fp16/bf16, nothing for fp32 (so fp32 runs exactly the module's own dtype)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = _AUTOCAST_DTYPES.get(precision)
    if dtype is None:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return torch.autocast(device_type=device.type, dtype=dtype)


def main_output(out: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """The model's main logits (element 0 when it returns [main, aux], as training models do)."""
    return out[0] if isinstance(out, list | tuple) else out
