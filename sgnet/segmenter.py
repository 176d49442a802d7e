"""`Segmenter`: RGB-D frames in, per-pixel class labels out, with per-stage timings.

Stages (the keys of `Segmentation.timings`, in ms, in this order):
- upload: frame arrays -> device tensors, colour normalised (official means, BGR) and resized;
- spatial: depth -> xyz in metres (frame intrinsics, or the official NYU constants);
- model: the network forward (under autocast for fp16/bf16; compiled / CUDA-graph replay if asked);
- postprocess: bilinear upsample of the logits to the frame size (align_corners=True, as the
  official tester), argmax, copy of the uint8 labels to the host. When another class set is
  wanted than the model's, the class probabilities are merged into it first (`sgnet.classes`).
On CUDA the stages are timed with CUDA events, on CPU with perf_counter.

Labels are predicted everywhere, including pixels without depth (the official networks do
the same: zero depth is an input like any other). The only "no prediction" (255) pixels are
those whose logits are not finite (NaN/inf from a broken input or an overflowing fp16 run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sgnet.classes import ClassSpec, merge_matrix, merge_probabilities, wanted_classes
from sgnet.depth_holes import fill_holes
from sgnet.device import resolve_device
from sgnet.engines import ENGINES, default_device, engine_for_file, lookup
from sgnet.engines.base import Engine, EngineInfo
from sgnet.errors import DeviceUnavailableError, SGNetUserError
from sgnet.forward import PRECISIONS
from sgnet.frames import MODEL_STAGES, NO_PREDICTION, RGBDFrame, Segmentation
from sgnet.loading import load_model
from sgnet.preprocess import (
    XYZ_MODES,
    fit_size,
    normalize_color,
    resize_depth,
    resize_image,
    spatial_input,
    upsample_logits,
)

STAGES = MODEL_STAGES
LABEL_RESOLUTIONS = ("frame", "input")


class _Timer:
    """Stage boundaries: CUDA events on GPU (read after one sync), perf_counter on CPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.marks: list = []

    def mark(self) -> None:
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            self.marks.append(ev)
        else:
            self.marks.append(time.perf_counter())

    def elapsed_ms(self) -> list[float]:
        if self.cuda:
            self.marks[-1].synchronize()
            return [a.elapsed_time(b) for a, b in zip(self.marks, self.marks[1:], strict=False)]
        return [(b - a) * 1000.0 for a, b in zip(self.marks, self.marks[1:], strict=False)]


class Segmenter:
    """A model ready to label RGB-D frames (see the module docstring for what each stage does).

    model: a registered name (official names build their deploy/fps variant: no aux head), an
    nn.Module taking (image, xyz), or None to build the model the weights file is for.
    weights: a file for `sgnet.load_weights`; None loads the weights shipped for the model
    (sgnet_lite has some) — a model without any is an error unless `random_weights=True`.
    An nn.Module is used with its own weights unless a file is given.
    classes: the class set to output (`nyu40`, `nyu13`, `sunrgbd37`, a JSON file or a ClassSet);
    None keeps the model's own (stored in its weights). Another set merges the model's class
    probabilities into it (sum, then argmax): an NYU40 model shown in NYUv2-13.
    input_size: the (H, W) the model sees; None uses the model's `default_input_size` (fitted to
    the frame's aspect ratio) if it declares one, else the frame's own size. Intrinsics follow
    any resize.
    engine: what runs the model stage (`sgnet.engines.ENGINES`): None = torch, or the engine an
    exported weights file picks (`.onnx` -> onnxruntime, `.xml` -> openvino). Another engine with a
    checkpoint exports the network once per input size into the cache (`sgnet.engines.cache`;
    `no_cache=True` exports into a temporary folder; `on_export(message)` is told first). An engine
    object (`sgnet.engines.base.Engine`, e.g. `sgnet.engines.cache.SizedEngines`) is used as it is.
    confidence: fill `Segmentation.confidence` (the winning class's probability per pixel); False
    saves its few ms of postprocess when nothing reads it.
    fill_holes: in-paint the depth's holes before the model, at the model's input size
    (`sgnet.depth_holes.fill_holes`: the nearest valid depth, smoothed), as NYUv2's labelled
    depth is; for real sensors' frames, where the shipped model reads holes as evidence they
    do not carry (docs/demo-model.md).
    """

    def __init__(
        self,
        model: str | nn.Module | None = "sgnet_lite",
        weights: str | Path | None = None,
        device: str | torch.device = "auto",
        precision: str = "fp32",
        compile: bool = False,
        cuda_graphs: bool = False,
        channels_last: bool = False,
        xyz_mode: str = "frame",
        input_size: tuple[int, int] | None = None,
        label_resolution: str = "frame",
        num_classes: int | None = None,
        classes: ClassSpec | None = None,
        random_weights: bool = False,
        engine: str | Engine | None = None,
        no_cache: bool = False,
        on_export: Callable[[str], None] | None = None,
        confidence: bool = True,
        fill_holes: bool = False,
    ) -> None:
        if label_resolution not in LABEL_RESOLUTIONS:
            raise SGNetUserError(
                f"label_resolution must be one of {', '.join(LABEL_RESOLUTIONS)}, got {label_resolution!r}"
            )
        if precision not in PRECISIONS:
            raise SGNetUserError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if xyz_mode not in XYZ_MODES:
            raise SGNetUserError(f"xyz_mode must be one of {', '.join(XYZ_MODES)}, got {xyz_mode!r}")
        if input_size is not None:
            if len(input_size) != 2 or min(int(v) for v in input_size) < 16:
                raise SGNetUserError(f"input_size must be (H, W) with both >= 16, got {input_size!r}")
            input_size = (int(input_size[0]), int(input_size[1]))
        self.device = resolve_device(default_device(device, engine, weights))
        if cuda_graphs and self.device.type != "cuda":
            raise DeviceUnavailableError("CUDA graphs need a CUDA device; drop cuda_graphs or use device cuda")
        given = None if engine is None or isinstance(engine, str) else engine  # an engine object, used as it is
        self.engine_name = given.info.name if given is not None else _pick_engine(engine, weights)
        self._engine: Engine | None = None
        self._sized = None  # SizedEngines: a checkpoint run by another engine, exported per input size
        if engine_for_file(weights) is not None:
            from sgnet.engines.files import load_exported

            loaded = load_exported(weights, model if isinstance(model, str) else None)
            if input_size is not None and loaded.input_size is not None and input_size != loaded.input_size:
                raise SGNetUserError(
                    f"{Path(weights).name} was exported for {loaded.input_size[0]}x{loaded.input_size[1]} inputs, not "
                    f"{input_size[0]}x{input_size[1]}: leave out the input size or export again (sgnet export --size)"
                )
            input_size = input_size or loaded.input_size
            self._default_size = loaded.default_input_size
            self._engine = lookup(self.engine_name).load(loaded.weights, self.device, precision)
            self.module = None
            num = loaded.classes.num_classes
        else:
            loaded = load_model(model, weights, random_weights=random_weights, num_classes=num_classes)
            if given is None:
                lookup(self.engine_name).check(self.device.type)  # a missing extra or CUDA: one line before an export
            num = int(getattr(loaded.net, "num_classes", loaded.classes.num_classes))
            self._default_size = getattr(loaded.net, "default_input_size", None)
            if given is not None:
                self._engine = given
                self.module = loaded.net.eval()
            elif self.engine_name == "torch":
                from sgnet.engines.torch_engine import TorchEngine

                self._engine = TorchEngine(loaded.net, self.device, precision, compile, channels_last, cuda_graphs)
                self.module = self._engine.module
            else:
                if compile or channels_last or cuda_graphs:
                    raise SGNetUserError(f"compile, channels-last and CUDA graphs are torch engine options, not "
                                         f"{self.engine_name}'s: leave them out or use engine torch")
                from sgnet.engines.cache import SizedEngines

                self.module = loaded.net.eval()
                self._sized = SizedEngines(loaded, self.engine_name, self.device, precision, no_cache, on_export)
        self.loaded = loaded
        self.model_name = loaded.name
        self.num_classes = num
        self.model_classes = loaded.classes
        self.classes = wanted_classes(classes, loaded.classes)
        self._merge = merge_matrix(loaded.classes, self.classes)
        # an int8 export says so (the engine runs what the file holds)
        self.precision = self._engine.info.precision if self.module is None and self._engine else precision
        self.xyz_mode = xyz_mode
        self.input_size = input_size
        self.label_resolution = label_resolution
        self.channels_last = channels_last
        self.cuda_graphs = cuda_graphs
        self.weights = loaded.weights
        self.confidence = bool(confidence)
        self.fill_holes = bool(fill_holes)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.classes.names

    def model_size(self, height: int, width: int) -> tuple[int, int]:
        """The (H, W) the model runs at for a frame of height x width."""
        if self.input_size is not None:
            return self.input_size
        default = self._default_size
        return fit_size(height, width, default) if default else (height, width)

    def prepare(self, height: int, width: int) -> EngineInfo:
        """Build the engine for frames of height x width now (an export, when one is needed, happens
        here instead of inside the first frame's model stage); returns what will run."""
        return self._engine_for(self.model_size(height, width)).info

    # -- stages -------------------------------------------------------------------------
    def _upload(self, frames: Sequence[RGBDFrame], size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        pin = self.device.type == "cuda"
        color = torch.from_numpy(np.stack([f.color for f in frames]))
        depth = torch.from_numpy(np.stack([f.depth for f in frames]).astype(np.int32))
        if pin:
            color, depth = color.pin_memory(), depth.pin_memory()
        color = color.to(self.device, non_blocking=pin)
        depth = resize_depth(depth.to(self.device, non_blocking=pin), size)
        if self.fill_holes:  # at the model's size: ~0.8 ms at 320x240 here, ~4.5 ms at a 640x480 frame's
            depth = torch.from_numpy(np.stack([fill_holes(d) for d in depth.cpu().numpy()])).to(self.device)
        image = resize_image(normalize_color(color), size)
        return image, depth

    def _spatial(self, frames: Sequence[RGBDFrame], depth: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        intr = [f.intrinsics.scaled(size[1], size[0]) for f in frames]
        scales = {f.depth_scale for f in frames}
        if len(scales) == 1:
            return spatial_input(depth, scales.pop(), intr, self.xyz_mode)
        return torch.cat(
            [spatial_input(depth[i : i + 1], f.depth_scale, [intr[i]], self.xyz_mode) for i, f in enumerate(frames)]
        )

    def _run_model(self, image: torch.Tensor, xyz: torch.Tensor) -> torch.Tensor:
        return self._engine_for(tuple(image.shape[-2:]))(image, xyz)

    def _engine_for(self, size: tuple[int, int]) -> Engine:
        """The engine for this input size: one for all sizes, or (a static export per size) made on first use."""
        if self._engine is not None:
            return self._engine
        return self._sized.for_size(size)

    @property
    def engine_info(self) -> EngineInfo:
        """What runs the model stage (for a checkpoint with another engine: the last export used)."""
        return self._engine.info if self._engine is not None else self._sized.info

    def _postprocess(
        self, logits: torch.Tensor, size: tuple[int, int], model_size: tuple[int, int], keep: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None, torch.Tensor | None]:
        """(labels, confidence, probabilities): uint8 N×H×W labels, float32 N×H×W confidence (None
        when switched off) and the class probabilities at the model's size (N×C×h×w, in the output
        set; None unless kept, the confidence or a class merge needed them)."""
        with torch.inference_mode():
            need = keep or self.confidence or self._merge is not None
            probs = self.class_probabilities(logits) if need else None
            if self.label_resolution == "input" and tuple(model_size) != tuple(size):
                labels = self._labels(logits, probs, model_size)  # argmax at the model's input size ...
                up = F.interpolate(labels[:, None].float(), size=size, mode="nearest-exact")  # ... then upscale
                labels = up[:, 0].to(torch.uint8)
            else:
                labels = self._labels(logits, probs, size)
            conf = self._confidence(probs, labels, size) if self.confidence else None
            return labels.cpu().numpy(), conf, probs

    def class_probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax of the model's logits in the output class set (merged when another set is
        wanted), float32 at the model's size; 0 where a logit was not finite."""
        logits = torch.nan_to_num(logits.float(), nan=0.0, posinf=0.0, neginf=0.0)
        if self._merge is not None:
            return merge_probabilities(logits, self._merge)
        return torch.softmax(logits, dim=1)

    @staticmethod
    def _confidence(probs: torch.Tensor, labels: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        """The winning probability, taken at the model's size and upsampled like the logits (one
        channel instead of all classes: a few ms on CPU); 0 where there is no prediction."""
        conf = upsample_logits(probs.amax(dim=1, keepdim=True), size)[:, 0].clamp_(0.0, 1.0)
        conf = torch.where(labels == NO_PREDICTION, torch.zeros_like(conf), conf)
        return conf.cpu().numpy().astype(np.float32, copy=False)

    def _labels(self, logits: torch.Tensor, probs: torch.Tensor | None, size: tuple[int, int]) -> torch.Tensor:
        """uint8 labels at `size`: bilinear (align_corners=True) logits, argmax, 255 where non-finite."""
        logits = logits.float()
        bad = ~torch.isfinite(logits).all(dim=1, keepdim=True)
        if self._merge is not None:  # summed probabilities of the wanted classes, upsampled like logits
            logits = probs
        # channels-last: the upsample writes, and argmax reads, the classes of a pixel contiguously
        # (about 2x faster on CPU than NCHW, same result)
        full = upsample_logits(logits.contiguous(memory_format=torch.channels_last), size)
        labels = full.argmax(dim=1).to(torch.uint8)
        if bool(bad.any()):  # pixels whose interpolation touched a NaN/inf logit
            bad_full = upsample_logits(bad.to(torch.float32), size)[:, 0] > 0
            labels = torch.where(bad_full, torch.full_like(labels, NO_PREDICTION), labels)
        return labels

    # -- public -------------------------------------------------------------------------
    def segment(self, frame: RGBDFrame) -> Segmentation:
        """Label one frame; the labels have the frame's full size."""
        return self.segment_batch([frame])[0]

    def segment_batch(self, frames: Sequence[RGBDFrame]) -> list[Segmentation]:
        """Label several frames in one forward per frame size (results in input order).

        Each Segmentation carries the timings of the batch it ran in.
        """
        if not frames:
            return []
        for f in frames:
            if not isinstance(f, RGBDFrame):
                raise SGNetUserError(f"segment expects RGBDFrame objects, got {type(f).__name__}")
        groups: dict[tuple[int, int], list[int]] = {}
        for i, f in enumerate(frames):
            groups.setdefault((f.height, f.width), []).append(i)
        results: list[Segmentation | None] = [None] * len(frames)
        for (h, w), idx in groups.items():
            batch = [frames[i] for i in idx]
            for i, seg in zip(idx, self._segment_same_size(batch, h, w)[0], strict=True):
                results[i] = seg
        return [r for r in results if r is not None]

    def segment_with_probabilities(self, frame: RGBDFrame) -> tuple[Segmentation, torch.Tensor]:
        """Label one frame and also return its class probabilities (1×C×h×w float32 at the model's
        size, on the segmenter's device): what video mode carries from a keyframe to later frames."""
        segs, probs = self._segment_same_size([frame], frame.height, frame.width, keep=True)
        return segs[0], probs

    def _segment_same_size(
        self, frames: Sequence[RGBDFrame], h: int, w: int, keep: bool = False
    ) -> tuple[list[Segmentation], torch.Tensor | None]:
        size = self.model_size(h, w)
        timer = _Timer(self.device)
        timer.mark()
        image, depth = self._upload(frames, size)
        timer.mark()
        xyz = self._spatial(frames, depth, size)
        timer.mark()
        logits = self._run_model(image, xyz)
        timer.mark()
        labels, conf, probs = self._postprocess(logits, (h, w), size, keep)
        timer.mark()
        timings = dict(zip(STAGES, timer.elapsed_ms(), strict=True))
        segs = [
            Segmentation(f, labels[i], dict(timings), self.classes, None if conf is None else conf[i])
            for i, f in enumerate(frames)
        ]
        return segs, probs

    def __repr__(self) -> str:
        return (
            f"Segmenter(model={self.model_name!r}, engine={self.engine_name!r}, device={self.device}, "
            f"precision={self.precision!r}, "
            f"xyz_mode={self.xyz_mode!r}, input_size={self.input_size})"
        )


def _pick_engine(engine: str | None, weights: str | Path | None) -> str:
    """The engine asked for, else the one an exported weights file picks, else torch; a conflict is one line."""
    by_file = engine_for_file(weights)
    if engine is None:
        return by_file or "torch"
    name = str(engine).lower()
    if name not in ENGINES:
        raise SGNetUserError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if by_file is not None and name != by_file and not (by_file == "onnxruntime" and name == "tensorrt"):
        raise SGNetUserError(f"{Path(weights).name} runs with engine {by_file}, not {name}: leave out the engine or "
                             "pass a checkpoint (.safetensors/.pth.tar) to export for it")
    return name
