"""User-facing errors: one clear line (what went wrong and how to fix it), no traceback.

`UserError` is the app's name for the project's one root of user mistakes,
`sgnet.errors.SGNetUserError`: an error raised by the library (weights that do not fit, a bad
dataset folder, no CUDA) and one raised by the app (a bad path, no camera) are the same kind
of thing, reach the same handler (`app.cli_common.run_typer`) and need no translation. The
CLIs print `str(error)` as one line on stderr and exit with its `exit_code` (2).
"""

from __future__ import annotations

from sgnet.errors import SGNetUserError

UserError = SGNetUserError

__all__ = ["UserError"]
