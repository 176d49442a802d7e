"""`sgnet bench model`: the paper's FPS protocol plus per-stage Segmenter timings."""

from __future__ import annotations

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
) -> None:
    """Paper protocol: deploy network (no aux head), random inputs, warm-up, then timed forwards
    with a sync around each; reports median / p90 / p99 and FPS = 1000/median. Weights are random
    unless --weights names a file (then the model is the one the file is for, said in one line).

    Examples:

      sgnet bench model --model sgnet_r101 --device cuda --json r101.json

      sgnet bench model --weights SGNet_Res50.pth.tar --device cuda

      sgnet bench model -m all --device cpu --warmup 2 --iters 5

      sgnet bench model -m sgnet_lite --no-paper-sizes --size 240x320 --iters 200
    """
    import torch
    from rich.console import Console
    from rich.table import Table

    import sgnet
    from sgnet.bench import bench_forward, bench_segmenter, environment, synthetic_frame
    from sgnet.device import resolve_device
    from sgnet.forward import PRECISIONS
    from sgnet.loading import load_model

    if precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if warmup < 0 or iters < 1:
        raise UserError("--warmup must be >= 0 and --iters >= 1")
    set_threads(threads)
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
    console = Console()
    dev = resolve_device(device, "--device")
    for n in names:
        if n is not None:
            sgnet.model_info(n)  # unknown names fail before anything runs
    # a weights file is read, and the model it fits found, before anything is timed
    from_file = [load_model(n, weights) for n in names] if weights is not None else []
    env = environment(dev)
    console.print(
        f"{env['device_name']} ({dev}), torch {env['torch']}, {env['threads']} threads, ops {env['ops_backend']}"
    )
    results = []
    table = Table(title=f"forward only, batch 1, {precision}, warmup {warmup}, iters {iters}")
    for col in ("model", "size", "median ms", "p90 ms", "p99 ms", "FPS"):
        table.add_column(col, justify="left" if col in ("model", "size") else "right")
    stage_table = Table(title="Segmenter stages (median ms; frame -> model input size)")
    for col in ("model", "size", "upload", "spatial", "model ", "postprocess", "total", "FPS"):
        stage_table.add_column(col, justify="left" if col in ("model", "size") else "right")
    for i, n in enumerate(names):
        lm = from_file[i] if from_file else load_model(n, random_weights=True)  # one at a time: -m all is big
        name, net = lm.name, lm.net.eval()
        said = lm.summary if lm.weights else f"{name}: random weights (speed only; labels are not measured)"
        console.print(said, soft_wrap=True, markup=False, highlight=False)  # one line, as typed
        params = sum(p.numel() for p in net.parameters())
        fwd = torch.compile(net) if compile else net
        for h, w in sizes:
            frame_hw = seg_frame_hw or (h, w)
            with console.status(f"{name} {h}x{w} forward"):
                stats = bench_forward(fwd, (h, w), dev, precision, warmup, iters, channels_last)
            table.add_row(
                name,
                f"{h}x{w}",
                f"{stats.median_ms:.1f}",
                f"{stats.p90_ms:.1f}",
                f"{stats.p99_ms:.1f}",
                f"{stats.fps:.2f}",
            )
            entry = {
                "model": name, "weights": str(lm.weights) if lm.weights else None, "classes": lm.classes.key,
                "params": params, "size": [h, w], "forward": stats.as_dict(),
            }
            if segmenter:
                n_seg = seg_iters if seg_iters is not None else min(iters, 100)
                seg = sgnet.Segmenter(
                    net,
                    device=dev,
                    precision=precision,
                    compile=compile,
                    channels_last=channels_last,
                    input_size=(h, w),
                    label_resolution=label_resolution,
                )
                with console.status(f"{name} {h}x{w} segmenter"):
                    st = bench_segmenter(seg, synthetic_frame(*frame_hw), min(warmup, 10), n_seg)
                stage_table.add_row(
                    name,
                    f"{h}x{w}" if frame_hw == (h, w) else f"{frame_hw[0]}x{frame_hw[1]} -> {h}x{w}",
                    *(f"{st[k].median_ms:.1f}" for k in ("upload", "spatial", "model", "postprocess", "total")),
                    f"{st['total'].fps:.2f}",
                )
                entry["segmenter"] = {k: v.as_dict() for k, v in st.items()}
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
            "results": results,
        }
        write_json(json_out, payload)
