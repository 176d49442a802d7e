"""The post-check every export gets: reload the file with its engine, run it and torch on the same
prepared frames, and say how far apart they are (ultralytics' exporter validates the same way).

Parity (fp32): max |engine - torch| / max |torch logit| <= `REL_TOL` and labels (argmax of the
logits upsampled to the frame, as the `Segmenter` does) agreeing on >= `LABEL_AGREEMENT` of pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from sgnet.frames import RGBDFrame

REL_TOL = 1e-4
LABEL_AGREEMENT = 0.999


@dataclass(frozen=True)
class Parity:
    """How an engine's logits compare with torch's on the same inputs."""

    max_abs: float
    max_logit: float
    labels_agree: float  # fraction of frame pixels with the same label
    pixels: int
    frames: int

    @property
    def rel(self) -> float:
        return self.max_abs / self.max_logit if self.max_logit > 0 else float("inf")

    @property
    def passed(self) -> bool:
        return self.rel <= REL_TOL and self.labels_agree >= LABEL_AGREEMENT

    def line(self) -> str:
        return (f"max |engine - torch| {self.max_abs:.3g} = {self.rel:.2g} of max |logit| {self.max_logit:.3g} "
                f"(tolerance {REL_TOL:g}); labels agree on {100 * self.labels_agree:.3f} % of {self.pixels} pixels "
                f"({self.frames} frame{'s' if self.frames != 1 else ''})")


def prepared_inputs(net: torch.nn.Module, frames: Sequence[RGBDFrame], size: tuple[int, int],
                    xyz_mode: str = "frame") -> list[tuple[torch.Tensor, torch.Tensor]]:  # fmt: skip
    """(image, xyz) per frame, exactly as the `Segmenter` prepares them for a model input of `size`."""
    from sgnet.segmenter import Segmenter

    seg = Segmenter(net, device="cpu", input_size=size, xyz_mode=xyz_mode)
    out = []
    for f in frames:
        image, depth = seg._upload([f], size)
        out.append((image, seg._spatial([f], depth, size)))
    return out


def compare(engine, net: torch.nn.Module, frames: Sequence[RGBDFrame], size: tuple[int, int],
            xyz_mode: str = "frame") -> Parity:  # fmt: skip
    """Run `engine` and the torch `net` on `frames` prepared for `size`; the numbers of `Parity`."""
    from sgnet.forward import main_output
    from sgnet.preprocess import upsample_logits

    max_abs = max_logit = 0.0
    agree = pixels = 0
    net = net.eval().to("cpu", torch.float32)
    for f, (image, xyz) in zip(frames, prepared_inputs(net, frames, size, xyz_mode), strict=True):
        with torch.inference_mode():
            ref = main_output(net(image, xyz)).float()
            got = engine(image, xyz).float()
            max_abs = max(max_abs, float((got - ref).abs().max()))
            max_logit = max(max_logit, float(ref.abs().max()))
            full = (f.height, f.width)
            a = upsample_logits(ref, full).argmax(1)
            b = upsample_logits(got, full).argmax(1)
        agree += int((a == b).sum())
        pixels += a.numel()
    return Parity(max_abs, max_logit, agree / max(pixels, 1), pixels, len(frames))


def check_export(path: str | Path, loaded, frames: Sequence[RGBDFrame], xyz_mode: str = "frame",
                 engine: str | None = None) -> Parity:  # fmt: skip
    """Reload an exported file with its engine (or `engine`) and compare it with `loaded.net` on `frames`."""
    from sgnet.engines import engine_for_file, lookup
    from sgnet.engines.files import load_exported

    exported = load_exported(path)
    name = engine or engine_for_file(path)
    runner = lookup(name).load(Path(path), torch.device("cpu"), "fp32")
    size = exported.input_size or _model_size(loaded.net, frames[0])
    return compare(runner, loaded.net, frames, size, xyz_mode)


def _model_size(net, frame: RGBDFrame) -> tuple[int, int]:
    from sgnet.preprocess import fit_size

    default = getattr(net, "default_input_size", None)
    return fit_size(frame.height, frame.width, default) if default else (frame.height, frame.width)
