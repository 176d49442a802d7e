"""ONNX Runtime (CPU) as an engine: an exported `.onnx` runs the network's forward.

ONNX Runtime implements ONNX DeformConv on its CPU provider, so it runs either S-Conv path
(`deformconv` is the faster here: docs/engines.md). Inputs are handed over as NumPy views of the
CPU tensors (no copy); the logits come back as a tensor sharing the output buffer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sgnet.engines.base import EngineInfo
from sgnet.errors import SGNetUserError

FORMAT = "onnx"


class OnnxRuntimeEngine:
    """`logits = engine(image, xyz)` through an `onnxruntime.InferenceSession` (CPU provider)."""

    def __init__(self, path: Path, precision: str = "fp32", threads: int | None = None) -> None:
        import onnxruntime as ort

        from sgnet.engines.metadata import read_metadata

        self.path = Path(path)
        self.meta = read_metadata(self.path)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or torch.get_num_threads()
        opts.log_severity_level = 3  # errors only
        # no spinning between runs: idle ORT threads would steal the cores from the rest of the pipeline
        # (capture, postprocess, torch engines alternated with it in `sgnet bench model`)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # a file ONNX Runtime cannot run: one line, not its stack
            raise SGNetUserError(f"ONNX Runtime cannot load {self.path}: {str(e).splitlines()[0]}") from None
        inputs = {i.name: i for i in self.session.get_inputs()}
        if set(inputs) != {"image", "xyz"}:
            raise SGNetUserError(f"{self.path} has inputs {sorted(inputs)}, not image and xyz: export it with "
                                 "`sgnet export`")
        shape = inputs["image"].shape
        self.input_size = tuple(shape[2:]) if all(isinstance(s, int) for s in shape[2:]) else None
        exported = self.meta.get("precision", "fp32")
        self.info = EngineInfo("onnxruntime", exported, f"ONNX Runtime {ort.__version__} CPU, S-Conv "
                               f"{self.meta.get('sconv', '?')}, {self.path.name}")
        self._out = self.session.get_outputs()[0].name

    def eval(self):  # evaluation calls model.eval(): an engine is always in inference mode
        return self

    def __call__(self, image: torch.Tensor, xyz: torch.Tensor) -> torch.Tensor:
        check_input_size(self, image)
        feeds = {"image": _numpy(image), "xyz": _numpy(xyz)}
        (logits,) = self.session.run([self._out], feeds)
        return torch.from_numpy(logits).to(image.device)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).contiguous().numpy()


def check_input_size(engine, image: torch.Tensor) -> None:
    """A static export runs only its own size: say so in one line instead of the runtime's error."""
    size = getattr(engine, "input_size", None)
    if size is not None and tuple(image.shape[-2:]) != tuple(size):
        raise SGNetUserError(
            f"{engine.path.name} was exported for {size[0]}x{size[1]} inputs, got {image.shape[-2]}x"
            f"{image.shape[-1]}: export it again at that size (or with --dynamic), or keep the input size"
        )


def load(path: Path, device: torch.device, precision: str = "fp32") -> OnnxRuntimeEngine:
    if getattr(device, "type", "cpu") != "cpu":
        raise SGNetUserError(f"engine onnxruntime runs on the CPU here (got device {device}); use --device cpu")
    if precision != "fp32":
        raise SGNetUserError(f"engine onnxruntime runs fp32 (or a file exported with --int8), not {precision}: "
                             "use --precision fp32, or engine openvino for bf16")
    return OnnxRuntimeEngine(path, precision)
