"""Export the deploy network to ONNX or OpenVINO IR, with its metadata embedded (ultralytics' exporter).

One table of formats (`FORMATS`) drives validation; `prepare` builds the deploy model and the one
metadata dict every format embeds; one function per format writes the file (`export_onnx`,
`export_openvino`); `sgnet.engines.check.check_export` reloads a file and compares it with torch;
`sgnet.engines.metadata.read_metadata` (also importable from here) reads the metadata back.

The network's inputs are `image` (N, 3, H, W): colour as `Segmenter._upload` makes it (BGR, minus
the Caffe means, 0..255) and `xyz` (N, 3, H, W): metres, as `Segmenter._spatial` makes it; its
output is `logits` (N, C, h, w), the main head's. The S-Conv is written in one of two ways
(`SCONV_PATHS`): `portable` (GridSample + Conv: every runtime) or `deformconv` (ONNX DeformConv,
opset 19: ONNX Runtime, and OpenVINO through `sgnet.engines.openvino_engine.deformconv_extension`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgnet.engines import require
from sgnet.engines.metadata import META_PREFIX, read_metadata
from sgnet.errors import SGNetUserError

OPSET = 19  # the first with DeformConv
SCONV_PATHS = ("portable", "deformconv")


@dataclass(frozen=True)
class Format:
    """One row of `FORMATS`: a file format `sgnet export` writes."""

    name: str
    suffix: str
    extra: str
    packages: tuple[str, ...]
    sconv: str  # the default S-Conv path of a file in this format
    int8: bool  # post-training quantisation available
    function: str  # the name of the function in this module that writes it


FORMATS: tuple[Format, ...] = (
    # a plain .onnx may go to any runtime: the portable S-Conv by default
    Format("onnx", ".onnx", "onnx", ("onnx", "onnxscript"), "portable", False, "export_onnx"),
    Format("openvino", ".xml", "openvino", ("onnx", "onnxscript", "openvino"), "deformconv", True, "export_openvino"),
)
_FORMATS = {f.name: f for f in FORMATS}
# the S-Conv path each engine runs fastest on this kind of CPU (docs/engines.md has the figures)
ENGINE_SCONV = {"onnxruntime": "deformconv", "openvino": "deformconv", "tensorrt": "portable"}


def get_format(name: str) -> Format:
    f = _FORMATS.get(str(name).lower())
    if f is None:
        raise SGNetUserError(f"unknown export format {name!r}; choose one of {', '.join(_FORMATS)}")
    return f


def project_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sgnet-live")
    except PackageNotFoundError:
        return "0+unknown"


def _as_loaded(model_or_loaded: Any):
    """A `LoadedModel` from one, an nn.Module (its own weights) or a model name (its shipped weights)."""
    from sgnet.loading import LoadedModel, load_model

    if isinstance(model_or_loaded, LoadedModel):
        return model_or_loaded
    return load_model(model_or_loaded)


def _check_size(size: Any) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise SGNetUserError(f"export size must be (height, width), got {size!r}") from None
    if min(h, w) < 16:
        raise SGNetUserError(f"export size {h}x{w} is too small: each side must be at least 16 pixels")
    return h, w


def metadata(loaded, size: tuple[int, int], *, sconv: str, dynamic: bool, precision: str, fmt: str,
             xyz_mode: str = "frame") -> dict[str, str]:  # fmt: skip
    """The one metadata dict every format embeds (string values, keys prefixed `sgnet_`)."""
    from sgnet.preprocess import MEAN_BGR

    default = getattr(loaded.net, "default_input_size", None)
    meta = {
        "model": loaded.name,
        "classes": loaded.classes.to_json(),
        "input_size": f"{size[0]}x{size[1]}",
        "dynamic": "1" if dynamic else "0",
        "default_input_size": f"{default[0]}x{default[1]}" if default else "",
        "normalization": json.dumps({"order": "BGR", "mean": list(MEAN_BGR), "range": "0-255", "std": None}),
        "xyz_mode": xyz_mode,
        "inputs": "image (N,3,H,W) float32 BGR minus mean; xyz (N,3,H,W) float32 metres, z in channel 2",
        "outputs": "logits (N,C,h,w) float32",
        "sconv": sconv,
        "precision": precision,
        "format": fmt,
        "weights": Path(loaded.weights).name if loaded.weights else "",
        "version": project_version(),
        "torch": torch.__version__,
    }
    return {META_PREFIX + k: v for k, v in meta.items()}


def prepare(model_or_loaded: Any, size: Any, sconv: str, dynamic: bool, precision: str, fmt: str,
            xyz_mode: str = "frame"):  # fmt: skip
    """The deploy network (eval, CPU, float32), the checked size and the metadata dict."""
    if sconv not in SCONV_PATHS:
        raise SGNetUserError(f"unknown S-Conv path {sconv!r}; choose one of {', '.join(SCONV_PATHS)}")
    loaded = _as_loaded(model_or_loaded)
    size = _check_size(size)
    net = loaded.net.eval().to("cpu", torch.float32)
    meta = metadata(loaded, size, sconv=sconv, dynamic=dynamic, precision=precision, fmt=fmt, xyz_mode=xyz_mode)
    return loaded, net, size, meta


class _Deploy(nn.Module):
    """The network with one output (the main logits), optionally computing in half precision."""

    def __init__(self, net: nn.Module, half: bool) -> None:
        super().__init__()
        # a half copy: the export keeps references to the parameters until it is saved
        self.net = copy.deepcopy(net).half() if half else net
        self.half = half

    def forward(self, image: torch.Tensor, xyz: torch.Tensor) -> torch.Tensor:
        from sgnet.forward import main_output

        if self.half:
            return main_output(self.net(image.half(), xyz.half())).float()
        return main_output(self.net(image, xyz))


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter prints progress and warnings about torchvision ops it skips: none concern us."""
    import logging

    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.onnx._internal.exporter._registration")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _onnx_program(net: nn.Module, size: tuple[int, int], dynamic: bool, sconv: str, half: bool):
    import ops
    from ops.portable import onnx_translations, sconv_form

    deploy = _Deploy(net, half).eval()
    h, w = size
    g = torch.Generator().manual_seed(0)
    args = (torch.randn(1, 3, h, w, generator=g) * 50, torch.rand(1, 3, h, w, generator=g) * 4)
    shapes = None
    if dynamic:
        dims = {0: torch.export.Dim("batch", min=1, max=64), 2: torch.export.Dim.AUTO, 3: torch.export.Dim.AUTO}
        shapes = {"image": dims, "xyz": dims}
    with torch.no_grad(), ops.use_backend("portable"), sconv_form(sconv), _quiet_exporter():
        return torch.onnx.export(
            deploy, args, input_names=["image", "xyz"], output_names=["logits"], dynamo=True,
            opset_version=OPSET, dynamic_shapes=shapes, custom_translation_table=onnx_translations(),
            verbose=False,
        )


def export_onnx(model_or_loaded: Any, size: Any, path: str | Path, dynamic: bool = False, fp16: bool = False,
                sconv: str = "portable", xyz_mode: str = "frame") -> Path:  # fmt: skip
    """Write the deploy network as ONNX (opset 19) with its metadata; returns the path.

    model_or_loaded: a `sgnet.loading.LoadedModel`, a model name (shipped weights) or an nn.Module.
    size: (H, W) of the static inputs (and the example for a dynamic export). fp16: the network
    computes in half precision inside (inputs and logits stay float32). sconv: `portable` or `deformconv`.
    """
    require(get_format("onnx").packages, "onnx", "ONNX export")
    loaded, net, size, meta = prepare(model_or_loaded, size, sconv, dynamic, "fp16" if fp16 else "fp32", "onnx",
                                      xyz_mode)
    path = Path(path)
    program = _onnx_program(net, size, dynamic, sconv, fp16)
    program.model.metadata_props.update(meta)
    _save_atomic(path, lambda tmp: program.save(str(tmp), external_data=False))
    return path


def _save_atomic(path: Path, write, suffixes: tuple[str, ...] = ()) -> None:
    """Write through a temporary name in the same folder, then rename (with any side files, e.g. .bin)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(tmp)
        for p in (tmp, *(tmp.with_suffix(s) for s in suffixes)):  # mkstemp's 0600 -> what a plain open gives
            os.chmod(p, 0o666 & ~umask)
        for suffix in suffixes:  # side files first, so a complete main file always has them
            os.replace(tmp.with_suffix(suffix), path.with_suffix(suffix))
        os.replace(tmp, path)
    except BaseException:
        for p in (tmp, *(tmp.with_suffix(s) for s in suffixes)):
            p.unlink(missing_ok=True)
        raise


def export_openvino(model_or_loaded: Any, size: Any, path: str | Path, dynamic: bool = False, fp16: bool = False,
                    sconv: str = "deformconv", xyz_mode: str = "frame", int8_frames: list | None = None,
                    int8_max_drop: float | None = 0.01) -> Path:  # fmt: skip
    """Write OpenVINO IR (`.xml` + `.bin`) via ONNX, metadata in its rt_info; returns the .xml path.

    fp16: weights stored in half precision (the CPU still computes in float32). int8_frames:
    calibration inputs [(image, xyz), ...] for NNCF post-training quantisation (int8); int8_max_drop:
    the share of pixels whose label may differ from the float model's on them (None: no accuracy control).
    """
    require(get_format("openvino").packages, "openvino", "OpenVINO export")
    import openvino as ov

    from sgnet.engines.ov_rules import deformconv_extension

    precision = "int8" if int8_frames else ("fp16" if fp16 else "fp32")
    loaded, net, size, meta = prepare(model_or_loaded, size, sconv, dynamic, precision, "openvino", xyz_mode)
    path = Path(path).with_suffix(".xml")
    program = _onnx_program(net, size, dynamic, sconv, False)
    with tempfile.TemporaryDirectory(prefix="sgnet-export-") as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        program.save(str(onnx_path), external_data=False)
        model = ov.convert_model(str(onnx_path), extension=[deformconv_extension()])
    if int8_frames:
        from sgnet.engines.quantize import quantize_openvino

        model = quantize_openvino(model, int8_frames, max_drop=int8_max_drop)
    for k, v in meta.items():
        model.set_rt_info(v, ["sgnet", k.removeprefix(META_PREFIX)])
    _save_atomic(path, lambda tmp: ov.save_model(model, str(tmp), compress_to_fp16=fp16), (".bin",))
    return path


def export(fmt: str, model_or_loaded: Any, size: Any, path: str | Path, **options: Any) -> Path:
    """Dispatch through `FORMATS`: `export("openvino", loaded, (240, 320), "m.xml", fp16=True)`."""
    f = get_format(fmt)
    return globals()[f.function](model_or_loaded, size, path, **options)


__all__ = ["FORMATS", "OPSET", "SCONV_PATHS", "export", "export_onnx", "export_openvino", "metadata", "prepare",
           "read_metadata"]
