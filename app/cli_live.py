"""`sgnet-live`: the live RGB-D segmentation application."""

from __future__ import annotations

import typer

from app.cli_common import run_typer, version_callback

HELP = """Live RGB-D semantic segmentation with SGNet.

Examples:

  sgnet-live --camera demo                      # embedded demo, no camera, no download

  sgnet-live --camera realsense                 # a connected Intel RealSense

  sgnet-live --camera recording.bag             # replay a recording (.bag or .db3)

  sgnet-live --camera demo --headless --frames 60 --save-video out.mp4 --log-latency lat.csv
"""

app = typer.Typer(
    name="sgnet-live",
    help=HELP,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.command(help=HELP)
def live(
    camera: str = typer.Option("demo", "--camera", help="realsense[:SERIAL], demo, or a path to a recording/folder."),
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    from app.cli_common import fail

    fail("sgnet-live", "demo not built yet: the live pipeline lands with the app issue", 3)


def main(argv: list[str] | None = None) -> None:
    run_typer(app, "sgnet-live", argv)


if __name__ == "__main__":
    main()
