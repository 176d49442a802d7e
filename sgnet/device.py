"""Which torch device a run uses: one rule and one set of messages for every command and API.

'auto' means CUDA when torch sees a GPU, else the CPU; an explicit device that this machine
does not have is a `DeviceUnavailableError` naming the fix, never a silent fall-back.
"""

from __future__ import annotations

import torch

from sgnet.errors import DeviceUnavailableError, SGNetUserError

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"


def resolve_device(device: str | torch.device, what: str = "device") -> torch.device:
    """'auto' -> cuda if available else cpu; 'cuda' without CUDA -> DeviceUnavailableError.

    `what` names the setting in messages (a command passes its option, "--device").

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise SGNetUserError(f"{what} must be {DEVICE_CHOICES}, got {name!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        fix = f"{what} cpu" if what.startswith("--") else f"{what}='cpu'"
        raise DeviceUnavailableError(
            f"device {name!r} asked for but CUDA is not available here (no CUDA device visible to torch "
            f"{torch.__version__}); use {fix}"
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise DeviceUnavailableError(f"{name} does not exist: this machine has {count} CUDA device(s)")
    return dev
