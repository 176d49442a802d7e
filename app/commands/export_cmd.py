"""`sgnet export`: the deploy network as ONNX or OpenVINO IR, checked against torch after writing."""

from __future__ import annotations

from pathlib import Path

import typer

from app.commands.common import parse_hw
from app.errors import UserError

MAX_READ = 2000  # frames read from a source to pick calibration/check frames from


def read_frames(spec: str, count: int, size: tuple[int, int] | None = None) -> list:
    """Up to `count` RGB-D frames, evenly spread, from a folder, a recording or `demo` (the rendered clip)."""
    from app.sources import open_source
    from app.sources.base import SourceOptions
    from sgnet.frames import RGBDFrame

    opts = SourceOptions(width=size[1], height=size[0]) if size else SourceOptions()
    frames = []
    with open_source(spec, opts) as source:
        # the demo loops for ever: one pass of its clip; other sources end, but read at most MAX_READ
        limit = min(getattr(source, "loop", None) or MAX_READ, MAX_READ)
        for i, item in enumerate(source):
            if isinstance(item, RGBDFrame):
                frames.append(item)
            if i + 1 >= limit:
                break
    if not frames:
        raise UserError(f"{spec}: no readable RGB-D frames")
    step = max(1, len(frames) // count)
    return frames[::step][:count]


def export_cmd(
    model: str | None = typer.Option(None, "--model", "-m", help="Model name; default: the one the weights are for."),
    weights: Path | None = typer.Option(
        None, "--weights", "-w", readable=False,
        help="Weights (.safetensors, official .pth.tar); default: the shipped ones (sgnet_lite).",
    ),
    random_weights: bool = typer.Option(False, "--random-weights", help="Export untrained weights (speed tests)."),
    size: str | None = typer.Option(None, "--size", help="Input HxW (default: the model's own input size)."),
    fmt: str = typer.Option("onnx", "--format", "-f", help="onnx or openvino."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Any input size (and batch) instead of --size only."),
    fp16: bool = typer.Option(False, "--fp16", help="Half precision (ONNX: computes in fp16; OpenVINO: fp16 weights)."),
    int8: bool = typer.Option(False, "--int8", help="Post-training int8 quantisation (openvino; needs --calibrate)."),
    calibrate: str | None = typer.Option(
        None, "--calibrate", help="int8 calibration frames: an image folder, a .bag/.db3 recording or 'demo'."
    ),
    calib_frames: int = typer.Option(32, "--calib-frames", help="How many calibration frames to use."),
    int8_max_drop: float = typer.Option(
        1.0, "--int8-max-drop", help="int8: at most this % of the calibration frames' pixels may change label from "
        "the float model's (NNCF accuracy control puts the most sensitive layers back to float); 0: plain int8.",
    ),
    sconv: str = typer.Option(
        "auto", "--sconv", help="S-Conv as 'portable' (GridSample + Conv, every runtime) or 'deformconv' (ONNX "
        "DeformConv: ONNX Runtime, OpenVINO); auto: portable for onnx, deformconv for openvino.",
    ),
    xyz_mode: str = typer.Option("frame", "--xyz-mode", help="frame or nyu: recorded in the metadata."),
    check: bool = typer.Option(True, "--check/--no-check", help="Reload the file and compare it with torch."),
    check_data: str = typer.Option("demo", "--check-data", help="Frames for the check (default: the rendered demo)."),
    out: Path = typer.Option(..., "--out", "-o", readable=False, help="Output file (.onnx, or .xml for openvino)."),
) -> None:
    """Export the deploy network (inputs image and xyz as the Segmenter makes them, output logits) with
    its model name, class set, input size and normalisation embedded; then reload it and compare its
    logits and labels with torch on rendered frames (max relative error <= 1e-4, labels >= 99.9 %).

    Examples:

      sgnet export --model sgnet_lite --size 240x320 -o lite.onnx

      sgnet export -w SGNet.pth.tar --size 480x640 --format openvino -o r101.xml

      sgnet export -m sgnet_lite --format openvino --int8 --calibrate data/synth -o lite_int8.xml

      sgnet-live --camera demo --weights lite.onnx          # the file picks its engine
    """
    from sgnet.engines.export import SCONV_PATHS, get_format
    from sgnet.preprocess import XYZ_MODES

    f = get_format(fmt)
    if sconv != "auto" and sconv not in SCONV_PATHS:
        raise UserError(f"--sconv must be auto, {' or '.join(SCONV_PATHS)}, got {sconv!r}")
    if xyz_mode not in XYZ_MODES:
        raise UserError(f"--xyz-mode must be one of {', '.join(XYZ_MODES)}, got {xyz_mode!r}")
    if int8 and not f.int8:
        raise UserError(f"--int8 is available for {', '.join(x.name for x in _formats() if x.int8)}, not {f.name}")
    if int8 and not calibrate:
        raise UserError("--int8 needs calibration frames: --calibrate FOLDER|RECORDING|demo")
    if calibrate and not int8:
        raise UserError("--calibrate is for --int8: add --int8 or leave out --calibrate")
    if int8 and fp16:
        raise UserError("pick one of --int8 and --fp16")
    if not 0 <= int8_max_drop < 100:
        raise UserError(f"--int8-max-drop must be a percentage from 0 to 100, got {int8_max_drop}")
    if calib_frames < 1:
        raise UserError(f"--calib-frames must be at least 1, got {calib_frames}")
    if out.suffix.lower() != f.suffix:
        raise UserError(f"--out for --format {f.name} must end in {f.suffix}, got {out.name}")
    if out.exists() and out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as {out / ('model' + f.suffix)}")
    if not out.parent.exists():
        raise UserError(f"cannot write {out}: folder {out.parent} does not exist (create it first)")
    if weights is not None and not weights.is_file():
        raise UserError(f"weights file not found: {weights}")
    _export(model, weights, random_weights, size, f, dynamic, fp16, int8, calibrate, calib_frames,
            f.sconv if sconv == "auto" else sconv, xyz_mode, check, check_data, out, int8_max_drop / 100 or None)


def _formats():
    from sgnet.engines.export import FORMATS

    return FORMATS


def _export(model, weights, random_weights, size, f, dynamic, fp16, int8, calibrate, calib_frames, sconv,
            xyz_mode, check, check_data, out, max_drop) -> None:  # fmt: skip
    import time

    from rich.console import Console

    from sgnet.engines import require
    from sgnet.engines.export import export
    from sgnet.loading import load_model

    err = Console(stderr=True)

    def say(text: str) -> None:
        err.print(text, markup=False, highlight=False, soft_wrap=True)

    require(f.packages + (("nncf",) if int8 else ()), f.extra, f"--format {f.name}" + (" --int8" if int8 else ""))
    if model is None and weights is None and not random_weights:
        model = "sgnet_lite"  # the shipped model, as sgnet-live
    loaded = load_model(model, weights, random_weights=random_weights)
    default = getattr(loaded.net, "default_input_size", None)
    if size is None and default is None:
        raise UserError(f"{loaded.name} has no input size of its own: give --size HxW (e.g. 480x640)")
    hw = parse_hw(size, "--size", minimum=16) if size else tuple(default)
    say(f"export: {loaded.summary}")
    options = {"dynamic": dynamic, "fp16": fp16, "sconv": sconv, "xyz_mode": xyz_mode}
    if int8:
        from sgnet.engines.check import prepared_inputs

        calib = read_frames(calibrate, calib_frames)
        control = f", labels kept on >= {100 - 100 * max_drop:g} % of their pixels" if max_drop else " (plain)"
        say(f"export: int8 calibration on {len(calib)} frames of {calibrate}{control}")
        options["int8_frames"] = prepared_inputs(loaded.net, calib, hw, xyz_mode)
        options["int8_max_drop"] = max_drop
    t0 = time.perf_counter()
    with err.status(f"exporting {loaded.name} {hw[0]}x{hw[1]} to {f.name}"):
        path = export(f.name, loaded, hw, out, **options)
    extra = f" + {path.with_suffix('.bin').name}" if f.suffix == ".xml" else ""
    say(f"export: wrote {path}{extra} ({f.name}, {hw[0]}x{hw[1]}{', dynamic' if dynamic else ''}, "
        f"{'int8' if int8 else 'fp16' if fp16 else 'fp32'}, S-Conv {sconv}) in {time.perf_counter() - t0:.1f} s")
    if not check:
        return
    from sgnet.engines.check import check_export

    frames = read_frames(check_data, 2, None)
    parity = check_export(path, loaded, frames, xyz_mode)
    exact = not (int8 or fp16)
    verdict = ("ok" if parity.passed else "FAILED") if exact else "for information (reduced precision)"
    say(f"check: {parity.line()}: {verdict}")
    if exact and not parity.passed:
        raise UserError(f"the export of {path} does not match torch (see the check line); the file is kept for "
                        "inspection — try the other --sconv path")
