"""Eager PyTorch as an engine: the network's own forward, optionally compiled, channels-last or
replayed from CUDA graphs (one graph per input shape), under autocast for fp16/bf16."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from sgnet.engines.base import EngineInfo
from sgnet.errors import DeviceUnavailableError
from sgnet.forward import autocast_context, main_output


@dataclass
class _Graph:
    graph: torch.cuda.CUDAGraph
    image: torch.Tensor
    xyz: torch.Tensor
    out: torch.Tensor


class TorchEngine:
    """`logits = engine(image, xyz)`: the nn.Module on `device` (moved there, eval mode)."""

    def __init__(self, net: nn.Module, device: torch.device, precision: str = "fp32", compile: bool = False,
                 channels_last: bool = False, cuda_graphs: bool = False) -> None:  # fmt: skip
        if cuda_graphs and device.type != "cuda":
            raise DeviceUnavailableError("CUDA graphs need a CUDA device; drop cuda_graphs or use device cuda")
        net = net.eval().to(device)
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.module = net
        self.device = device
        self.precision = precision
        self.channels_last = channels_last
        self.cuda_graphs = cuda_graphs
        self._forward = torch.compile(net) if compile else net
        self._graphs: dict[tuple[int, ...], _Graph] = {}
        how = ", ".join(w for w, on in (("compiled", compile), ("channels-last", channels_last),
                                        ("CUDA graphs", cuda_graphs)) if on)  # fmt: skip
        self.info = EngineInfo("torch", precision, f"PyTorch {torch.__version__} eager on {device}"
                               + (f" ({how})" if how else ""))

    def __call__(self, image: torch.Tensor, xyz: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
            xyz = xyz.contiguous(memory_format=torch.channels_last)
        if self.cuda_graphs:
            return self._graph_forward(image, xyz)
        with torch.inference_mode(), autocast_context(self.device, self.precision):
            return main_output(self._forward(image, xyz))

    def _graph_forward(self, image: torch.Tensor, xyz: torch.Tensor) -> torch.Tensor:
        key = tuple(image.shape) + tuple(xyz.shape)
        g = self._graphs.get(key)
        if g is None:
            g = self._capture(image, xyz)
            self._graphs[key] = g
        g.image.copy_(image)
        g.xyz.copy_(xyz)
        g.graph.replay()
        return g.out

    def _capture(self, image: torch.Tensor, xyz: torch.Tensor) -> _Graph:
        static_image, static_xyz = image.clone(), xyz.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.inference_mode(), autocast_context(self.device, self.precision):
            for _ in range(3):  # warm-up: allocator, cudnn autotune, lazy inits
                main_output(self._forward(static_image, static_xyz))
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.inference_mode(), autocast_context(self.device, self.precision):
            out = main_output(self._forward(static_image, static_xyz))
        return _Graph(graph, static_image, static_xyz, out)
