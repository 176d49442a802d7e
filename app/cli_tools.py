"""`sgnet`: the tools around the live app (evaluate, benchmark, train, convert data).

Each command lives in its own module under `app/commands/`; this file only wires them.
Heavy imports (torch, open3d) happen inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import typer

from app.cli_common import run_typer, version_callback
from app.commands import info as info_cmd

HELP = """Tools for sgnet-live: evaluation, benchmarks, training, dataset conversion.

Examples:

  sgnet info                                   # versions, devices, models, backends

  sgnet bench ops --device cpu                 # S-Conv backends vs conv2d on SGNet shapes

  sgnet bench model --model sgnet_r101         # the paper's FPS protocol

  sgnet hha data/nyudv2 data/nyudv2            # Depth/ -> HHA/ for a whole dataset

  sgnet eval data/nyudv2 --model sgnet_r101 --weights SGNet.pth.tar --multi-scale
"""

app = typer.Typer(
    name="sgnet",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
bench_app = typer.Typer(
    help="Speed measurements (medians of many runs, JSON output). Example: sgnet bench ops --json out.json",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(bench_app, name="bench")


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """sgnet-live tools."""


app.command("info")(info_cmd.info)


def main(argv: list[str] | None = None) -> None:
    run_typer(app, "sgnet", argv)


if __name__ == "__main__":
    main()
