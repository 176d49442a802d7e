"""`sgnet convert-weights`: official SGNet .pth.tar (or our .pt) -> our .safetensors."""

from __future__ import annotations

from pathlib import Path

import typer

from app.errors import UserError


def convert_weights(
    src: Path = typer.Argument(..., readable=False, help="Official .pth.tar, our .pt/.pth, or .safetensors."),
    dst: Path = typer.Argument(..., readable=False, help="Output file: .safetensors (or .pt)."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model name; default: guessed from the file."),
    deploy: bool = typer.Option(False, "--deploy", help="Drop the dsn3 aux head (fps/deploy structure)."),
    num_classes: int | None = typer.Option(None, help="Classes; default: from the file."),
    classes_spec: str | None = typer.Option(
        None, "--classes", help="Class set to store (nyu40, nyu13, sunrgbd37 or a JSON file); default: the file's, "
        "else NYUv2-40 for 40 outputs (official files).",
    ),
    half: bool = typer.Option(False, "--half", help="Store float16 (half the size; loads back as float32)."),
) -> None:
    """Convert weights to our convention (plain BatchNorm: InPlace-ABN γ -> |γ|+1e-5, no `module.`),
    with metadata naming the model; `sgnet.load_weights` reads the result back exactly. Without
    --model the file's model is found by fitting every tensor, and said in one line.

    Examples:

      sgnet convert-weights SGNet.pth.tar sgnet_r101.safetensors

      sgnet convert-weights "SGNet(Res50).pth.tar" sgnet_r50_deploy.safetensors --model sgnet_r50 --deploy

      sgnet convert-weights runs/demo/model.safetensors assets/sgnet_lite_synth.safetensors --half
    """
    import torch

    import sgnet
    from assets.classes import get_class_set
    from sgnet.classes import model_class_set
    from sgnet.errors import WeightsMismatchError
    from sgnet.identify import (
        ModelGuess,
        classes_in_file,
        describe_weights,
        guess_model,
        identify_or_fail,
        naming_the_fitting_model,
    )
    from sgnet.weights import match_state_dict, read_checkpoint, save_weights

    if dst.suffix not in (".safetensors", ".pt", ".pth"):
        raise UserError(f"output {dst} must end in .safetensors (or .pt / .pth)")
    if dst.resolve() == src.resolve():
        raise UserError("output must be a different file than the input")
    if model is not None:
        sgnet.model_info(model)  # an unknown name says so, with close matches
    ckpt = read_checkpoint(src)
    if model is None:
        found = identify_or_fail(ckpt, src)  # checked: every tensor fits the model it names
        name, kwargs = found.name, dict(found.kwargs)
    else:
        try:
            layout = guess_model(ckpt)
        except WeightsMismatchError:
            layout = None
        name = model
        same = layout is not None and layout.name == model
        kwargs = dict(layout.kwargs) if same else {k: v for k, v in (layout.kwargs if layout else {}).items()
                                                     if k == "aux"}
    if deploy:
        kwargs.pop("fps", None)
        kwargs["aux"] = False
    classes = num_classes or classes_in_file(ckpt) or 40
    net = sgnet.create_model(name, num_classes=classes, **kwargs)
    try:
        sd, dropped, _ = match_state_dict(net, ckpt, str(src))
    except WeightsMismatchError as e:
        raise naming_the_fitting_model(e, ckpt) from None
    net.load_state_dict(sd, strict=True)
    stored = ckpt.classes if classes_spec is None else get_class_set(classes_spec)
    net.class_set = model_class_set(stored, classes, f"--classes {classes_spec}" if classes_spec else str(src))
    typer.echo(describe_weights(src, ModelGuess(name, kwargs, classes, stored), net.class_set))
    try:
        save_weights(net, dst, source=f"{src.name} ({ckpt.source})", half=half)
    except OSError as e:
        raise UserError(f"cannot write {dst}: {e}") from None
    except ValueError as e:
        raise UserError(f"cannot store {src} as float16: {e}") from None
    back = sgnet.create_model(name, num_classes=classes, **kwargs)
    sgnet.load_weights(back, dst)
    mine, theirs = net.state_dict(), back.state_dict()
    if half:  # what float16 storage must give back: each float value rounded once
        mine = {k: v.half().to(v.dtype) if v.is_floating_point() else v for k, v in mine.items()}
    if any(not torch.equal(mine[k], theirs[k]) for k in mine):
        raise UserError(f"{dst} did not read back identically; please report this")
    abn = " (InPlace-ABN norms converted)" if ckpt.bn == "abn" else ""
    drop = f", dropped {len(dropped)} aux-head tensors" if dropped else ""
    half_note = ", float16" if half else ""
    typer.echo(
        f"wrote {dst}: {name}, {net.class_set.describe()}, {len(mine)} tensors{half_note}{abn}{drop}; "
        "verified by reloading"
    )

