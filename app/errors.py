"""User-facing errors: one clear line (what went wrong and how to fix it), no traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix (bad path, no camera, wrong weights...).

    The CLIs print `str(error)` as one line on stderr and exit with `exit_code`.
    """

    exit_code = 2
