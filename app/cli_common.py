"""What both CLIs share: the version flag and the one place user errors become one line.

Every user mistake, raised by the app or by the library, is a `sgnet.errors.SGNetUserError`
(`app.errors.UserError` is the same class) and is turned into a line here and nowhere else.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import typer

from assets.classes import ClassSetError
from sgnet.errors import SGNetUserError


def package_version() -> str:
    try:
        return version("sgnet-live")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"sgnet-live {package_version()}")
        raise typer.Exit()


def fail(prog: str, message: str, code: int = 2) -> None:
    """Print one clear error line and exit non-zero."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.stderr.flush()
    sys.exit(code)


def run_typer(app: typer.Typer, prog: str, argv: list[str] | None = None) -> None:
    """Run a typer app so that user mistakes end in one line on stderr, never a traceback."""
    try:
        app(args=argv, prog_name=prog)  # typer/click handle usage errors and --help themselves
    except SGNetUserError as e:
        fail(prog, str(e), e.exit_code)
    except ClassSetError as e:  # assets stands alone (no sgnet errors there): its one line is a user's mistake
        fail(prog, str(e), 2)
    except KeyboardInterrupt:
        fail(prog, "interrupted", 130)
