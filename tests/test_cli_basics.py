"""Both console scripts install, answer --help with examples and --version, and reject nonsense."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.cli_common import package_version

SCRIPTS = {
    "sgnet-live": "from app.cli_live import main; main()",
    "sgnet": "from app.cli_tools import main; main()",
}


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPTS[script], *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_shows_examples(script):
    res = run(script, "--help")
    assert res.returncode == 0, res.stderr
    assert "Examples:" in res.stdout
    assert f"{script} " in res.stdout.split("Examples:")[1]


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_version(script):
    res = run(script, "--version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"sgnet-live {package_version()}"
    assert package_version() != "0+unknown", "the project is not installed (pip install -e .)"


def test_unknown_command_is_one_clear_error_without_traceback():
    res = run("sgnet", "no-such-command")
    assert res.returncode == 2
    assert "No such command" in res.stderr
    assert "Traceback" not in res.stderr


def test_user_error_becomes_one_line(capsys):
    import typer

    from app.cli_common import run_typer
    from app.errors import UserError

    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise UserError("the file x.bag does not exist; pass a recording or --camera demo")

    with pytest.raises(SystemExit) as exc:
        run_typer(app, "prog", [])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == "prog: error: the file x.bag does not exist; pass a recording or --camera demo\n"
