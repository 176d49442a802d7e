"""OpenVINO (CPU) as an engine: an exported `.xml` (or `.onnx`) runs the network's forward.

OpenVINO has DeformableConvolution but its ONNX reader has no rule for ONNX DeformConv, so
`sgnet.engines.ov_rules.deformconv_extension` adds one (DeformableConvolution-8 with
`bilinear_interpolation_pad`, which is the official boundary rule, plus the bias). The CPU plugin
computes in bfloat16 by default on CPUs with AVX512-BF16/AMX; this engine asks for float32 unless
precision is bf16, so fp32 logits match torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sgnet.engines.base import EngineInfo
from sgnet.engines.metadata import read_metadata
from sgnet.engines.onnxruntime_engine import _numpy, check_input_size
from sgnet.engines.ov_rules import deformconv_extension
from sgnet.errors import SGNetUserError

FORMAT = "openvino"
_HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32"}


class OpenVinoEngine:
    """`logits = engine(image, xyz)` through a compiled OpenVINO model on the CPU."""

    def __init__(self, path: Path, precision: str = "fp32") -> None:
        import openvino as ov

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
        # shared, not copied into the request's own buffers: the arrays live until infer returns
        self.request.infer({"image": _numpy(image), "xyz": _numpy(xyz)}, share_inputs=True)
        out = self.request.get_output_tensor(0).data
        return torch.from_numpy(np.array(out)).to(image.device)  # a copy: the request reuses its buffer


def load(path: Path, device: torch.device, precision: str = "fp32") -> OpenVinoEngine:
    if getattr(device, "type", "cpu") != "cpu":
        raise SGNetUserError(f"engine openvino runs on the CPU here (got device {device}); use --device cpu")
    return OpenVinoEngine(path, precision)
