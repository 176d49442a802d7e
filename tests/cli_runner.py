"""Run the `sgnet` CLI in-process and return its exit status (click always ends in SystemExit)."""

from __future__ import annotations

import pytest

from app.cli_tools import main


def run_cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)
