"""OpenVINO (CPU) as an engine: an exported `.xml` (or `.onnx`) runs the network's forward.

OpenVINO has DeformableConvolution but its ONNX reader has no rule for ONNX DeformConv, so
`deformconv_extension` adds one (DeformableConvolution-8 with `bilinear_interpolation_pad`, which
is the official boundary rule, plus the bias). The CPU plugin computes in bfloat16 by default on
CPUs with AVX512-BF16/AMX; this engine asks for float32 unless precision is bf16, so fp32 logits
match torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sgnet.engines.base import EngineInfo
from sgnet.engines.onnxruntime_engine import _numpy, check_input_size
from sgnet.errors import SGNetUserError

FORMAT = "openvino"
_HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32"}


def _convert_deformconv(node):
    """ONNX DeformConv (X, W, offset, B?, mask?) -> OpenVINO DeformableConvolution-8 (+ bias)."""
    import openvino.opset8 as o8
    import openvino.opset13 as o13

    n = node.get_input_size()
    pads = list(node.get_attribute("pads", [0, 0, 0, 0]))
    y = o8.deformable_convolution(
        node.get_input(0), node.get_input(2), node.get_input(1),
        strides=list(node.get_attribute("strides", [1, 1])), pads_begin=pads[:2], pads_end=pads[2:],
        dilations=list(node.get_attribute("dilations", [1, 1])),
        mask=node.get_input(4) if n > 4 else None,
        group=int(node.get_attribute("group", 1)), deformable_group=int(node.get_attribute("offset_group", 1)),
        bilinear_interpolation_pad=True,  # samples within one pixel outside blend with zeros: the DCN rule
    )
    if n > 3:
        shape = o13.constant(np.array([1, -1, 1, 1], dtype=np.int64))
        y = o13.add(y, o13.reshape(node.get_input(3), shape, False))
    return [y.output(0)]


def deformconv_extension():
    """The conversion rule for ONNX DeformConv (pass to `ov.convert_model(extension=...)`/`Core.add_extension`)."""
    from openvino.frontend import ConversionExtension

    return ConversionExtension("DeformConv", _convert_deformconv)


class OpenVinoEngine:
    """`logits = engine(image, xyz)` through a compiled OpenVINO model on the CPU."""

    def __init__(self, path: Path, precision: str = "fp32") -> None:
        import openvino as ov

        from sgnet.engines.export import read_metadata

        self.path = Path(path)
        self.meta = read_metadata(self.path)
        core = ov.Core()
        core.add_extension(deformconv_extension())
        exported = self.meta.get("precision", "fp32")
        run = "int8" if exported == "int8" else precision
        if run not in _HINTS:
            raise SGNetUserError(f"engine openvino: precision must be one of {', '.join(_HINTS)}, got {precision!r}")
        config = {"INFERENCE_PRECISION_HINT": _HINTS[run], "PERFORMANCE_HINT": "LATENCY"}
        try:
            model = core.read_model(str(self.path))
            self.compiled = core.compile_model(model, "CPU", config)
        except Exception as e:
            raise SGNetUserError(f"OpenVINO cannot load {self.path}: {str(e).splitlines()[0]}") from None
        names = {p.get_any_name() for p in self.compiled.inputs}
        if names != {"image", "xyz"}:
            raise SGNetUserError(f"{self.path} has inputs {sorted(names)}, not image and xyz: export it with "
                                 "`sgnet export`")
        shape = self.compiled.input("image").get_partial_shape()
        self.input_size = (shape[2].get_length(), shape[3].get_length()) if shape.is_static else None
        self.request = self.compiled.create_infer_request()
        self.info = EngineInfo("openvino", run, f"OpenVINO {ov.get_version().split('-')[0]} CPU "
                               f"({_HINTS[run]}), S-Conv {self.meta.get('sconv', '?')}, {self.path.name}")

    def eval(self):  # evaluation calls model.eval(): an engine is always in inference mode
        return self

    def __call__(self, image: torch.Tensor, xyz: torch.Tensor) -> torch.Tensor:
        check_input_size(self, image)
        self.request.infer({"image": _numpy(image), "xyz": _numpy(xyz)})
        out = self.request.get_output_tensor(0).data
        return torch.from_numpy(np.array(out)).to(image.device)  # a copy: the request reuses its buffer


def load(path: Path, device: torch.device, precision: str = "fp32") -> OpenVinoEngine:
    if getattr(device, "type", "cpu") != "cpu":
        raise SGNetUserError(f"engine openvino runs on the CPU here (got device {device}); use --device cpu")
    return OpenVinoEngine(path, precision)
