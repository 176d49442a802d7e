"""`sgnet`: the tools around the live app (evaluate, benchmark, train, convert data).

Each command lives in its own module, `app/commands/<name>_cmd.py`, and what they share in
`app/commands/common.py`; this file only wires them.
Heavy imports (torch, open3d) happen inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import typer

from app.cli_common import run_typer, version_callback
from app.commands import (
    average_weights_cmd,
    bench_hha_cmd,
    bench_model_cmd,
    bench_ops_cmd,
    bench_stream_cmd,
    bench_video_cmd,
    convert_weights_cmd,
    distill_cmd,
    eval_cmd,
    export_cmd,
    hha_cmd,
    info_cmd,
    record_cmd,
    synth_cmd,
    train_cmd,
)

HELP = """Tools for sgnet-live: evaluation, benchmarks, training, dataset conversion.

Examples:

  sgnet info                                   # versions, devices, models, backends

  sgnet bench ops --device cpu                 # S-Conv backends vs conv2d on SGNet shapes

  sgnet bench model --model sgnet_r101         # the paper's FPS protocol

  sgnet hha data/nyudv2 data/nyudv2            # Depth/ -> HHA/ for a whole dataset

  sgnet eval data/nyudv2 --model sgnet_r101 --weights SGNet.pth.tar --multi-scale

  sgnet export --model sgnet_lite --size 240x320 --format openvino -o lite.xml
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
app.command("hha")(hha_cmd.hha_command)
bench_app.command("hha")(bench_hha_cmd.bench_hha)
app.command("record")(record_cmd.record)
app.command("eval")(eval_cmd.eval_cmd)
app.command("export")(export_cmd.export_cmd)
app.command("convert-weights")(convert_weights_cmd.convert_weights)
app.command("average-weights")(average_weights_cmd.average_weights)
bench_app.command("model")(bench_model_cmd.bench_model)
bench_app.command("ops")(bench_ops_cmd.bench_ops)
bench_app.command("video")(bench_video_cmd.bench_video)
bench_app.command("stream")(bench_stream_cmd.bench_stream)
app.command("train")(train_cmd.train)
app.command("distill")(distill_cmd.distill)
app.command("synth")(synth_cmd.synth)


def main(argv: list[str] | None = None) -> None:
    run_typer(app, "sgnet", argv)


if __name__ == "__main__":
    main()
