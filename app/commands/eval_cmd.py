"""`sgnet eval`: mIoU & co. of a model on a NYUDv2-format dataset, as the official tester."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from app.commands.common import check_json_output, write_json
from app.errors import UserError
from app.sinks.base import check_output_dir

OFFICIAL_SCALES = "0.8,1.0,2.0"
RESOLUTIONS = ("model", "frame")


def parse_scales(text: str) -> tuple[float, ...]:
    try:
        scales = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise UserError(f"--scales must be comma-separated numbers like {OFFICIAL_SCALES}, got {text!r}") from None
    if not scales or any(not (0.05 <= s <= 8) for s in scales):
        raise UserError(f"--scales must be numbers between 0.05 and 8, got {text!r}")
    return scales


def parse_intrinsics(text: str | None):
    """None | path to a JSON {width,height,fx,fy,cx,cy} | 'W,H,fx,fy,cx,cy' -> Intrinsics | None."""
    if text is None:
        return None
    from sgnet.data.nyudv2 import nyu_intrinsics, read_intrinsics_json
    from sgnet.frames import Intrinsics

    if text.lower() == "nyu":
        return nyu_intrinsics()
    parts = text.split(",")
    if len(parts) == 6:
        try:
            w, h = int(parts[0]), int(parts[1])
            return Intrinsics(w, h, *(float(p) for p in parts[2:]))
        except ValueError as e:
            raise UserError(f"--intrinsics {text!r}: {e} (expected W,H,fx,fy,cx,cy, 0-based)") from None
    path = Path(text)
    if not path.is_file():
        raise UserError(f"--intrinsics {text!r} is neither a JSON file, 'nyu', nor W,H,fx,fy,cx,cy")
    return read_intrinsics_json(path)


def eval_cmd(
    data: Path = typer.Argument(
        ..., readable=False,
        help="Dataset folder, layout detected: NYUDv2 (RGB/ Depth/ Label/|Label13/ test.txt), SUN RGB-D, "
        "ScanNet scene(s), TUM RGB-D (no labels); or an official list file. See docs/datasets.md.",
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Model name (see `sgnet info`); default: the one the --weights file is for."
    ),
    weights: Path | None = typer.Option(
        None, "--weights", "-w", readable=False,
        help="Official .pth.tar, our .pt or .safetensors (required unless --random-weights).",
    ),
    random_weights: bool = typer.Option(
        False, "--random-weights", help="Evaluate untrained random weights (a baseline; needs --model)."
    ),
    classes: str | None = typer.Option(
        None, "--classes", help="Class set to score in: nyu40, nyu13, sunrgbd37 or a JSON file; default: the model's. "
        "The model's class probabilities and the labels are mapped into it.",
    ),
    label_classes: str | None = typer.Option(
        None, "--label-classes", help="Class set the dataset's labels are in; default: what the layout says "
        "(Label/ NYU40, Label13/ NYUv2-13, SUN RGB-D 37).",
    ),
    split: str = typer.Option(
        "test", help="Which list to read: DATA/<split>.txt (it must exist); 'all': every image in RGB/."
    ),
    list_file: Path | None = typer.Option(
        None, "--list", readable=False,
        help="Explicit list file (1, 2 or 4 fields per line).",
    ),
    depth_scale: float | None = typer.Option(
        None, help="Metres per depth unit (default: the layout's own; mm PNGs 0.001, TUM 0.0002)."
    ),
    intrinsics: str | None = typer.Option(
        None, help="JSON {width,height,fx,fy,cx,cy}, 'W,H,fx,fy,cx,cy' or 'nyu' (default: DATA/intrinsics.json|NYU)."
    ),
    xyz_mode: str = typer.Option("frame", help="frame: xyz from the intrinsics; nyu: the official loader's constants."),
    multi_scale: bool = typer.Option(False, "--multi-scale", help=f"Official multi-scale test ({OFFICIAL_SCALES})."),
    scales: str | None = typer.Option(None, help="Comma-separated test scales (overrides --multi-scale)."),
    flip: bool = typer.Option(False, "--flip", help="Also average with the mirrored image (off in the paper)."),
    fill_holes: bool = typer.Option(
        False, "--fill-holes", help="In-paint the depth's holes before the model (nearest valid depth, smoothed), "
        "as sgnet-live --fill-holes does: for frames of a real sensor with holes.",
    ),
    resolution: str = typer.Option(
        "model", "--resolution", help="model: scales multiply the size sgnet-live runs the model at (its default "
        "input size fitted to the frame, e.g. sgnet_lite: 320x240 for 640x480 frames); frame: they multiply the "
        "frame's size (the official tester). The same for models without a default size (the official networks).",
    ),
    label_format: str = typer.Option("nyu40", help="nyu40: 1..40, 0 = unlabelled; zero-based: 0..39, 255 = ignore."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    precision: str = typer.Option("fp32", help="fp32, fp16 or bf16 (autocast)."),
    limit: int | None = typer.Option(None, help="Evaluate only the first N samples."),
    save_pred: Path | None = typer.Option(
        None, "--save-pred", readable=False,
        help="Write colour prediction PNGs to this folder.",
    ),
    json_out: Path | None = typer.Option(None, "--json", readable=False, help="Write the results as JSON."),
    engine: str | None = typer.Option(
        None, "--engine", help="torch, onnxruntime, openvino or tensorrt; default: torch, or the engine an exported "
        "--weights file (.onnx/.xml) picks. Others export once per test scale into the cache.",
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="With --engine: export into a temporary folder."),
) -> None:
    """Evaluate a model on NYUDv2 (mIoU, pixel acc, mean class acc, fwIoU; dataset-level confusion).

    Examples:

      sgnet eval data/nyudv2 --weights SGNet.pth.tar

      sgnet eval data/nyudv2 --weights model.safetensors --classes nyu13

      sgnet eval data/nyudv2 -m sgnet_r50 -w "SGNet(Res50).pth.tar" --multi-scale --json r50.json

      sgnet eval dataset/list/nyud/test_nyud.txt -m sgnet_r101_aspp -w SGNet_ASPP.pth.tar --xyz-mode nyu

      sgnet eval data/synth -w model.safetensors --engine openvino
    """
    import torch
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from assets.classes import get_class_set
    from sgnet.classes import dataset_classes, merge_matrix, relabel, wanted_classes
    from sgnet.data import open_dataset
    from sgnet.device import resolve_device
    from sgnet.evaluate import EvalOptions, evaluate, save_prediction_png
    from sgnet.forward import PRECISIONS
    from sgnet.preprocess import XYZ_MODES

    err = Console(stderr=True)
    if xyz_mode not in XYZ_MODES:
        raise UserError(f"--xyz-mode must be one of {', '.join(XYZ_MODES)}, got {xyz_mode!r}")
    if precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if resolution not in RESOLUTIONS:
        raise UserError(f"--resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}")
    scale_list = parse_scales(scales) if scales else parse_scales(OFFICIAL_SCALES) if multi_scale else (1.0,)
    if weights is None and not random_weights:
        raise UserError(
            "no --weights given: pass the weights to evaluate (e.g. an official .pth.tar), or --random-weights "
            "--model NAME for an untrained baseline"
        )
    if random_weights and model is None:
        raise UserError("--random-weights needs --model NAME (which network to build untrained)")
    check_json_output(json_out)
    if save_pred is not None:
        check_output_dir(save_pred, "--save-pred folder")
    from sgnet.engines import default_device

    dev = resolve_device(default_device(device, engine, weights), "--device")  # CPU engines: auto = cpu
    dataset = open_dataset(
        data,
        split=split,
        list_file=list_file,
        depth_scale=depth_scale,
        intrinsics=parse_intrinsics(intrinsics),
        label_format=label_format,
        limit=limit,
        need_labels=True,
        on_note=lambda note: err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True),
    )
    if len(dataset) == 0:
        raise UserError(f"no samples to evaluate in {data}")
    wanted = get_class_set(classes) if classes else None
    loaded, runner = _load(model, weights, random_weights, wanted, engine, no_cache, dev, precision, err)
    model_set = wanted if (random_weights and wanted) else loaded.classes  # untrained: outputs are the set asked for
    labels_set = get_class_set(label_classes) if label_classes else dataset_classes(dataset)
    scored = wanted_classes(wanted or _labels_set_if_reachable(model_set, labels_set), model_set)
    dataset = relabel(dataset, scored, labels_set)
    merge = merge_matrix(model_set, scored)
    merged = f"; scored as {scored.describe()} (class probabilities merged)" if merge is not None else ""
    err.print(f"eval: {loaded.summary}{merged}", markup=False, highlight=False, soft_wrap=True)
    net = runner if runner is not None else loaded.net.to(dev).eval()
    box = _model_size(loaded) if resolution == "model" else None
    opts = EvalOptions(
        scales=scale_list, flip=flip, xyz_mode=xyz_mode, device=str(dev), precision=precision, input_box=box,
        fill_holes=fill_holes,
    )
    names = scored.names
    t0 = time.perf_counter()
    with Progress(
        TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("eval", total=len(dataset))

        def on_prediction(i, sample, pred) -> None:
            if save_pred is not None:
                try:
                    save_prediction_png(save_pred / f"{sample.name}.png", pred, scored)
                except OSError as e:
                    raise UserError(f"cannot write predictions to {save_pred}: {e}") from None
            progress.advance(task)

        with torch.inference_mode():
            result = evaluate(net, dataset, opts, scored.num_classes, on_prediction, merge)
    seconds = time.perf_counter() - t0
    m = result.metrics
    _print_table(Console(), m, names, loaded.name, result.images, scale_list, flip, seconds, box)
    if json_out is not None:
        payload = {
            "model": loaded.name,
            "weights": str(weights) if weights else None,
            "classes": scored.to_dict(),
            "model_classes": loaded.classes.key,
            "data": str(data),
            "layout": dataset.layout,
            "split": split,
            "images": result.images,
            "scales": list(scale_list),
            "flip": flip,
            "resolution": resolution,
            "model_size": list(box) if box else None,
            "xyz_mode": xyz_mode,
            "fill_holes": fill_holes,
            "device": str(dev),
            "precision": precision,
            "engine": runner.info.name if runner is not None else "torch",
            "seconds": round(seconds, 3),
            "metrics": m.as_dict(names),
            "confusion_matrix": result.hist.tolist(),
        }
        write_json(json_out, payload)


def _load(model, weights, random_weights, wanted, engine, no_cache, dev, precision, err):
    """(what was loaded, the engine to run or None for the torch network): an exported --weights file
    runs with its engine; --engine X with a checkpoint exports once per image size (each test scale)."""
    from sgnet.engines import engine_for_file, lookup
    from sgnet.loading import load_model

    by_file = engine_for_file(weights)
    name = (engine or by_file or "torch").lower()
    entry = lookup(name)
    entry.check(dev.type)
    if by_file is not None:
        from sgnet.engines.files import load_exported

        if name != by_file:
            raise UserError(f"{weights.name} runs with engine {by_file}, not {name}: leave out --engine")
        exported = load_exported(weights, model)
        return exported, entry.load(exported.weights, dev, precision)
    loaded = load_model(
        model, weights, random_weights=random_weights, num_classes=wanted.num_classes if wanted else None
    )
    if name == "torch":
        return loaded, None
    from sgnet.engines.cache import SizedEngines

    def say(text: str) -> None:
        err.print(f"eval: {text}", markup=False, highlight=False, soft_wrap=True)

    return loaded, SizedEngines(loaded, name, dev, precision, no_cache, on_export=say)


def _model_size(loaded) -> tuple[int, int] | None:
    """The (H, W) box sgnet-live fits frames into for this model (None: frames run at their size)."""
    net = getattr(loaded, "net", None)  # a checkpoint's network; an exported file carries the size itself
    size = getattr(loaded, "default_input_size", None) or getattr(net, "default_input_size", None)
    return tuple(size) if size else None


def _labels_set_if_reachable(model_set, labels_set):
    """Without --classes, scores are in the model's set; labels in a set the model's output can be
    merged into (13-class ground truth, an NYU40 model) are scored in the labels' set instead."""
    from assets.classes import ClassSetError

    if labels_set.names == model_set.names:
        return None
    try:
        labels_set.lookup_from(model_set)
    except ClassSetError:
        return None  # relabelling then says why the two cannot meet
    return labels_set


def _pct(v: float) -> str:
    return "-" if v != v else f"{100 * v:.1f}"  # NaN -> "-"


def _print_table(console, m, names, model, images, scales, flip, seconds, box=None) -> None:
    from rich.table import Table

    of = f" of the frame fitted into {box[0]}x{box[1]}, as sgnet-live" if box else ""
    table = Table(
        title=f"{model} on {images} images (scales {', '.join(map(str, scales))}{of}{', flip' if flip else ''})"
    )
    table.add_column("id", justify="right")
    table.add_column("class")
    table.add_column("IoU %", justify="right")
    table.add_column("acc %", justify="right")
    for i, name in enumerate(names):
        table.add_row(str(i), name, _pct(m.iou[i]), _pct(m.class_acc[i]))
    console.print(table)
    console.print(
        f"mIoU {_pct(m.miou)} (over the {m.gt_classes} ground-truth classes {_pct(m.miou_gt)})  "
        f"pixel acc {_pct(m.pixel_acc)}  mean class acc {_pct(m.mean_class_acc)}  "
        f"fwIoU {_pct(m.fwiou)}  ({images} images, {seconds:.1f} s)"
    )
