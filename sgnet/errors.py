"""Errors a user can cause through the `sgnet` API.

All are `ValueError`s (so generic callers still catch them) with a one-line message that
says what went wrong and how to fix it; the CLIs turn them into one line on stderr.
"""

from __future__ import annotations


class SGNetUserError(ValueError):
    """A mistake the user can fix (wrong weights, missing file, unknown model, no CUDA...)."""


class UnknownModelError(SGNetUserError):
    """The model name is not in the registry."""


class WeightsFileError(SGNetUserError):
    """The weights file is missing, unreadable or of an unknown layout."""


class UnsafeCheckpointError(WeightsFileError):
    """The checkpoint is a pickle that would run code (or store objects) when loaded."""


class WeightsMismatchError(SGNetUserError):
    """The weights do not fit the model (missing, unexpected or differently shaped tensors)."""


class DeviceUnavailableError(SGNetUserError):
    """A device or feature was asked for that this machine does not have (e.g. CUDA)."""


class DatasetError(SGNetUserError):
    """A dataset folder or list file is missing, incomplete or corrupt."""
