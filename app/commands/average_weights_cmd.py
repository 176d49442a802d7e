"""`sgnet average-weights`: a "model soup", the uniform average of several fine-tunes of one start.

Fine-tunes of the same weights on different data or seeds stay in one basin, so their average
is a model of its own that is usually better than each of them (Wortsman et al., 2022) and costs
nothing at run time. The shipped demo model is one (docs/demo-model.md).
"""

from __future__ import annotations

from pathlib import Path

import typer

from app.errors import UserError
from app.files import replacing, why_write_failed


def average_weights(
    out: Path = typer.Argument(..., readable=False, help="Output file: .safetensors (or .pt)."),
    inputs: list[Path] = typer.Argument(..., readable=False, help="Two or more weights files of one model."),
    half: bool = typer.Option(False, "--half", help="Store float16 (half the size; loads back as float32)."),
) -> None:
    """Average the weights of several files of one model and class set (a "model soup"): every
    floating tensor, BatchNorm statistics included, is the mean over the files.

    Examples:

      sgnet average-weights runs/soup.safetensors runs/a/model.safetensors runs/b/model.safetensors

      sgnet average-weights assets/sgnet_lite_synth.safetensors runs/ft-*/model.safetensors --half
    """
    import torch

    import sgnet
    from sgnet.identify import classes_in_file, identify_or_fail
    from sgnet.weights import load_checkpoint_into, read_checkpoint, save_weights

    if out.suffix not in (".safetensors", ".pt", ".pth"):
        raise UserError(f"output {out} must end in .safetensors (or .pt / .pth)")
    if len(inputs) < 2:
        raise UserError(f"give two or more weights files to average, got {len(inputs)}")
    if out.resolve() in {p.resolve() for p in inputs}:
        raise UserError(f"output {out} is one of the inputs; write the average to a new file")
    first = read_checkpoint(inputs[0])
    found = identify_or_fail(first, inputs[0])
    classes = classes_in_file(first) or 40
    names = first.classes.names if first.classes is not None else None
    total: dict[str, torch.Tensor] = {}
    net = sgnet.create_model(found.name, num_classes=classes, **dict(found.kwargs))
    for path in inputs:
        ckpt = first if path is inputs[0] else read_checkpoint(path)
        other = ckpt.classes.names if ckpt.classes is not None else None
        if other != names:
            raise UserError(f"{path} predicts other classes than {inputs[0]}; average fine-tunes of one class set")
        try:
            load_checkpoint_into(net, ckpt, path, strict=True)
        except sgnet.WeightsMismatchError as e:
            raise UserError(f"{path} is not a {found.name} with {classes} classes like {inputs[0]} ({e})") from None
        for k, v in net.state_dict().items():
            v = v.detach().to(torch.float64) if v.is_floating_point() else v.clone()
            total[k] = v if k not in total else (total[k] + v if v.is_floating_point() else torch.maximum(total[k], v))
    mean = {k: (v / len(inputs)).to(torch.float32) if v.is_floating_point() else v for k, v in total.items()}
    net.load_state_dict(mean, strict=True)
    if first.classes is not None:
        net.class_set = first.classes
    source = f"average of {len(inputs)}: " + ", ".join(str(p) for p in inputs)
    want = {k: v.half().float() if half and v.is_floating_point() else v for k, v in mean.items()}
    try:
        with replacing(out) as tmp:  # OUT is the complete, verified average or untouched
            save_weights(net, tmp, source=source, half=half)
            back = sgnet.create_model(found.name, num_classes=classes, **dict(found.kwargs))
            sgnet.load_weights(back, tmp)
            if any(not torch.equal(want[k], v) for k, v in back.state_dict().items()):
                raise UserError(f"{out} did not read back identically; please report this")
    except OSError as e:
        raise UserError(f"cannot write {out}: {why_write_failed(e)}; nothing was written") from None
    typer.echo(f"wrote {out}: the mean of {len(inputs)} {found.name} weights files; verified by reloading")
