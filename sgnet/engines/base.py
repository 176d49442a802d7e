"""The one small interface every inference engine implements: prepared inputs in, logits out.

The `Segmenter` keeps its stages (upload, spatial, model, postprocess); only the *model* stage
changes hands. An engine receives the normalised image and the spatial input exactly as the
torch network would (float32 (N, 3, H, W) tensors on the segmenter's device) and returns the
main logits (N, C, h, w) as a float tensor on that device, so postprocess (upsample, merge of
class sets, argmax) is the same code for every engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

ENGINES = ("torch", "onnxruntime", "openvino", "tensorrt")


@dataclass(frozen=True)
class EngineInfo:
    """What an engine says about itself for the start line, the summary and benchmark JSON."""

    name: str  # one of ENGINES
    precision: str  # fp32 | fp16 | bf16 | int8
    detail: str = ""  # e.g. "ONNX Runtime 1.20 CPUExecutionProvider, S-Conv as GridSample", a file path


class Engine(Protocol):
    """Runs the network's forward: `logits = engine(image, xyz)`."""

    info: EngineInfo

    def __call__(self, image: torch.Tensor, xyz: torch.Tensor) -> torch.Tensor: ...
