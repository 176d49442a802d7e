"""The project's errors, rooted here so every layer raises and catches the same classes.

`SGNetUserError` is the one root of "a mistake the user can fix": the library raises its
subclasses, the app raises `app.errors.UserError` (a subclass too), and the command-line
runner turns any of them into one line on stderr — there is no translation in between.
All are `ValueError`s (so generic callers still catch them) with a one-line message that
says what went wrong and how to fix it.

`FrameRejectedError` is different on purpose: it is not the user's mistake and does not end
a run. A segmenter raises it for one frame it cannot label; the pipeline counts that frame as
bad (with the message as its reason) and goes on. Any other error from a segmenter ends the run.
"""

from __future__ import annotations


class SGNetUserError(ValueError):
    """A mistake the user can fix (wrong weights, missing file, unknown model, no CUDA...).

    `exit_code` is the status the command-line tools exit with when it ends a run.
    """

    exit_code = 2


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


class FrameRejectedError(ValueError):
    """This one frame cannot be segmented (the reason is the message); the run goes on."""
