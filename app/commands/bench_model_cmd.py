"""`sgnet bench model`: the paper's FPS protocol plus per-stage Segmenter timings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from app.commands.common import check_json_output, parse_hw, set_threads, write_json
from app.errors import UserError

PAPER_SIZES = ((480, 640), (425, 560))


def bench_model(
    model: list[str] = typer.Option(
        [], "--model", "-m", help="Model name (repeatable) or 'all'; default: the model the --weights file is for, "
        "else sgnet_r101.",
    ),
    weights: Path | None = typer.Option(
        None, "--weights", "-w", help="Weights file (official .pth.tar, .pth, .safetensors): benchmarks the model "
        "it is for; default: random weights (the speed does not depend on them).",
    ),
    size: list[str] = typer.Option([], "--size", help="Extra input size HxW (repeatable)."),
    paper_sizes: bool = typer.Option(True, "--paper-sizes/--no-paper-sizes", help="Include 480x640 and 425x560."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    precision: str = typer.Option("fp32", help="fp32, fp16 or bf16 (autocast)."),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the model."),
    channels_last: bool = typer.Option(False, "--channels-last", help="channels-last memory format."),
    warmup: int = typer.Option(100, help="Untimed forwards before timing (paper: 100)."),
    iters: int = typer.Option(500, help="Timed forwards (paper: 500)."),
    segmenter: bool = typer.Option(True, "--segmenter/--no-segmenter", help="Also time the Segmenter stages."),
    seg_iters: int | None = typer.Option(None, help="Segmenter runs per size (default: iters, at most 100)."),
    seg_frame: str | None = typer.Option(
        None, help="Frame size HxW for the Segmenter timings (default: the input size; else resized to it)."
    ),
    label_resolution: str = typer.Option(
        "frame", help="Segmenter labels: frame (official: logits upsampled to the frame) or input (argmax at input)."
    ),
    threads: int | None = typer.Option(None, help="torch CPU threads (default: torch's choice)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write all figures as JSON."),
    engine: list[str] = typer.Option(
        [], "--engine", "-e", help="ENGINE[:PRECISION], repeatable: torch, onnxruntime, openvino (also openvino:bf16, "
        "openvino:int8, calibrated on the demo clip), tensorrt. Several are timed alternately, round by round; "
        "ratios are to the first. Default: torch.",
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Export the engines into a temporary folder."),
) -> None:
    """Paper protocol: deploy network (no aux head), random inputs, warm-up, then timed forwards
    with a sync around each; reports median / p90 / p99 and FPS = 1000/median. Weights are random
    unless --weights names a file (then the model is the one the file is for, said in one line).

    Examples:

      sgnet bench model --model sgnet_r101 --device cuda --json r101.json

      sgnet bench model --weights SGNet_Res50.pth.tar --device cuda

      sgnet bench model -m all --device cpu --warmup 2 --iters 5

      sgnet bench model -m sgnet_lite --no-paper-sizes --size 240x320 --iters 200

      sgnet bench model -m sgnet_lite --no-paper-sizes --size 240x320 -e torch -e onnxruntime -e openvino
    """
    import torch
    from rich.console import Console
    from rich.table import Table

    import sgnet
    from sgnet.bench import bench_forward, bench_forward_engines, bench_segmenters, environment, synthetic_frame
    from sgnet.device import resolve_device
    from sgnet.forward import PRECISIONS
    from sgnet.loading import load_model

    if precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if warmup < 0 or iters < 1:
        raise UserError("--warmup must be >= 0 and --iters >= 1")
    set_threads(threads)
    specs = parse_engines(engine, precision, dev_type=resolve_device(device, "--device").type)
    if weights is not None and "all" in model:
        raise UserError("--weights fit one model: drop -m all (the model is taken from the file)")
    if model:
        names: list[str | None] = sgnet.list_models() if "all" in model else list(dict.fromkeys(model))
    else:
        names = [None] if weights is not None else ["sgnet_r101"]
    sizes = list(PAPER_SIZES if paper_sizes else ()) + [parse_hw(s, "--size", minimum=32) for s in size]
    if not sizes:
        raise UserError("no sizes to run: give --size HxW or keep --paper-sizes")
    sizes = list(dict.fromkeys(sizes))
    seg_frame_hw = parse_hw(seg_frame, "--seg-frame", minimum=32) if seg_frame else None
    check_json_output(json_out)
    console = Console(width=None if sys.stdout.isatty() else 150)  # a log or pipe keeps the engine names whole
    dev = resolve_device(device, "--device")
    for n in names:
        if n is not None:
            sgnet.model_info(n)  # unknown names fail before anything runs
    # a weights file is read, and the model it fits found, before anything is timed
    from_file = [load_model(n, weights) for n in names] if weights is not None else []
    env = environment(dev)
    console.print(
        f"{env['device_name']} ({dev}), torch {env['torch']}, {env['threads']} threads, ops {env['ops_backend']}, "
        f"load average {env['load_avg_1m']:.2f}" if env.get("load_avg_1m") is not None else
        f"{env['device_name']} ({dev}), torch {env['torch']}, {env['threads']} threads, ops {env['ops_backend']}"
    )
    results = []
    table = Table(title=f"forward only, batch 1, {precision}, warmup {warmup}, iters {iters}")
    for col in ("model", "size", "engine", "median ms", "p90 ms", "p99 ms", "FPS", "x first"):
        table.add_column(col, justify="left" if col in ("model", "size", "engine") else "right")
    stage_table = Table(title="Segmenter stages (median ms; frame -> model input size)")
    for col in ("model", "size", "engine", "upload", "spatial", "model ", "postprocess", "total", "FPS",
                "model x first"):
        stage_table.add_column(col, justify="left" if col in ("model", "size", "engine") else "right")
    for i, n in enumerate(names):
        lm = from_file[i] if from_file else load_model(n, random_weights=True)  # one at a time: -m all is big
        name, net = lm.name, lm.net.eval()
        said = lm.summary if lm.weights else f"{name}: random weights (speed only; labels are not measured)"
        console.print(said, soft_wrap=True, markup=False, highlight=False)  # one line, as typed
        params = sum(p.numel() for p in net.parameters())
        fwd = torch.compile(net) if compile else net
        for h, w in sizes:
            frame_hw = seg_frame_hw or (h, w)
            runners = build_runners(specs, lm, fwd, (h, w), dev, no_cache, console)
            with console.status(f"{name} {h}x{w} forward ({', '.join(runners)})"):
                if len(runners) == 1 and specs[0][1] == "torch":  # the paper's protocol exactly, as before
                    fw = {specs[0][0]: bench_forward(fwd, (h, w), dev, precision, warmup, iters, channels_last)}
                else:
                    fw = bench_forward_engines(runners, (h, w), dev, precision, warmup, iters, channels_last)
            base = next(iter(fw.values()))
            for label, stats in fw.items():
                table.add_row(name, f"{h}x{w}", label, f"{stats.median_ms:.1f}", f"{stats.p90_ms:.1f}",
                              f"{stats.p99_ms:.1f}", f"{stats.fps:.2f}", f"{stats.median_ms / base.median_ms:.2f}")
            entry = {
                "model": name, "weights": str(lm.weights) if lm.weights else None, "classes": lm.classes.key,
                "params": params, "size": [h, w], "forward": base.as_dict(),
                "engines": {label: {"forward": st.as_dict(), "ratio_to_first": st.median_ms / base.median_ms,
                                    "info": engine_info(runners[label])} for label, st in fw.items()},
            }
            if segmenter:
                n_seg = seg_iters if seg_iters is not None else min(iters, 100)
                segs = {
                    label: sgnet.Segmenter(
                        net, device=dev, precision=precision if kind == "torch" else "fp32",
                        compile=compile and kind == "torch", channels_last=channels_last and kind == "torch",
                        input_size=(h, w), label_resolution=label_resolution,
                        engine=None if kind == "torch" else runners[label],
                    )
                    for label, kind, _ in specs
                }
                with console.status(f"{name} {h}x{w} segmenter"):
                    st_all = bench_segmenters(segs, synthetic_frame(*frame_hw), min(warmup, 10), n_seg)
                first = next(iter(st_all.values()))
                for label, st in st_all.items():
                    stage_table.add_row(
                        name,
                        f"{h}x{w}" if frame_hw == (h, w) else f"{frame_hw[0]}x{frame_hw[1]} -> {h}x{w}",
                        label,
                        *(f"{st[k].median_ms:.1f}" for k in ("upload", "spatial", "model", "postprocess", "total")),
                        f"{st['total'].fps:.2f}", f"{st['model'].median_ms / first['model'].median_ms:.2f}",
                    )
                    entry["engines"][label]["segmenter"] = {k: v.as_dict() for k, v in st.items()}
                    entry["engines"][label]["segmenter_model_ratio_to_first"] = (
                        st["model"].median_ms / first["model"].median_ms)
                entry["segmenter"] = {k: v.as_dict() for k, v in first.items()}
                entry["segmenter_frame"] = list(frame_hw)
            results.append(entry)
    console.print(table)
    if segmenter:
        console.print(stage_table)
    if json_out is not None:
        payload = {
            "protocol": "paper (spec §7): deploy net, randn inputs, sync around each forward",
            "weights": str(weights) if weights else None,
            "environment": env,
            "precision": precision,
            "compile": compile,
            "channels_last": channels_last,
            "label_resolution": label_resolution,
            "warmup": warmup,
            "iters": iters,
            "engines": [label for label, _, _ in specs],
            "load_avg_end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "results": results,
        }
        write_json(json_out, payload)


def parse_engines(values: list[str], precision: str, dev_type: str) -> list[tuple[str, str, str]]:
    """--engine ENGINE[:PRECISION] -> [(label, engine, precision)], checked (unknown names, missing
    extras, CUDA-only engines on a CPU: one line each)."""
    from sgnet.engines import lookup

    out = []
    for v in values or ["torch"]:
        name, _, prec = v.strip().lower().partition(":")
        entry = lookup(name)
        prec = prec or (precision if name == "torch" else "fp32")
        allowed = {"torch": ("fp32", "fp16", "bf16"), "onnxruntime": ("fp32",), "openvino": ("fp32", "bf16", "int8"),
                   "tensorrt": ("fp32", "fp16")}[name]
        if prec not in allowed:
            raise UserError(f"--engine {v}: {name} runs {', '.join(allowed)}, not {prec}")
        entry.check(dev_type)
        label = name if prec == "fp32" or name == "torch" else f"{name}:{prec}"
        if label in [x[0] for x in out]:
            raise UserError(f"--engine {v} is given twice")
        out.append((label, name, prec))
    return out


def build_runners(specs, loaded, fwd, size, dev, no_cache: bool, console) -> dict:
    """label -> callable(image, xyz): the torch network, or an engine exported for `size` (before timing)."""
    from sgnet.engines.cache import SizedEngines

    runners = {}
    calib = None
    for label, name, prec in specs:
        if name == "torch":
            runners[label] = fwd
            continue
        int8_frames = None
        if prec == "int8":
            if calib is None:
                from app.commands.export_cmd import read_frames
                from sgnet.engines.check import prepared_inputs

                calib = prepared_inputs(loaded.net, read_frames("demo", 32), size)
            int8_frames = calib
        # int8 with trained weights: NNCF's accuracy control (labels kept on 99 % of the calibration pixels), as
        # `sgnet export --int8`; random weights have no labels worth keeping: plain int8 (speed only)
        max_drop = 0.01 if loaded.weights is not None else None
        runner = SizedEngines(loaded, name, dev, prec, no_cache, on_export=lambda m: console.print(m, markup=False),
                              int8_frames=int8_frames, calibration="demo-32" if int8_frames else "",
                              int8_max_drop=max_drop)
        runner.for_size(size)  # export (or load from the cache) now, not inside the timed runs
        runners[label] = runner
    return runners


def engine_info(runner) -> dict:
    info = getattr(runner, "info", None)
    if info is None:
        import torch

        return {"name": "torch", "detail": f"PyTorch {torch.__version__} eager"}
    return {"name": info.name, "precision": info.precision, "detail": info.detail}
