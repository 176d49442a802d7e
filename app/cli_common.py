"""What both CLIs share: the version flag and the one place user errors become one line.

Every user mistake, raised by the app or by the library, is a `sgnet.errors.SGNetUserError`
(`app.errors.UserError` is the same class) and is turned into a line here and nowhere else.
"""

from __future__ import annotations

import signal
import sys
import threading
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same clean-up runs (`sgnet train` saves last.pt, partial
    outputs stay hidden) and the run ends with a line instead of dying silently."""


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated()


def run_typer(app: typer.Typer, prog: str, argv: list[str] | None = None) -> None:
    """Run a typer app so that user mistakes end in one line on stderr, never a traceback. SIGTERM
    stops a command as Ctrl-C does, unless the command handles it itself (sgnet-live, sgnet record)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    try:
        app(args=argv, prog_name=prog)  # typer/click handle usage errors and --help themselves
    except SGNetUserError as e:
        fail(prog, str(e), e.exit_code)
    except ClassSetError as e:  # assets stands alone (no sgnet errors there): its one line is a user's mistake
        fail(prog, str(e), 2)
    except KeyboardInterrupt as e:
        _interrupted(prog, e)
    except SystemExit as e:  # typer turns Ctrl-C into a silent exit 130: find the interrupt behind it
        cause = _interrupt_behind(e)
        if cause is None:
            raise
        _interrupted(prog, cause)


def _interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (or SIGTERM's `Terminated`) an exit was raised for, if any."""
    seen = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _interrupted(prog: str, e: KeyboardInterrupt) -> None:
    if isinstance(e, Terminated):
        fail(prog, "stopped by SIGTERM", 128 + signal.SIGTERM)
    fail(prog, "interrupted", 130)
