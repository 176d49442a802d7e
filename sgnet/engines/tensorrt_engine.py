"""TensorRT as an engine (CUDA): an exported `.onnx` built into a TensorRT engine, cached, run on torch tensors.

Why TensorRT: on NVIDIA GPUs it fuses the network (convolutions, BatchNorm, ReLU and the S-Conv's
GridSample path, which TensorRT's ONNX parser implements) and picks kernels per GPU, where eager
PyTorch launches every op on its own.

- Build: TensorRT's ONNX parser reads the export (`sgnet.engines.export.export_onnx`, portable
  S-Conv: `ENGINE_SCONV["tensorrt"]`), the builder makes a plan for this GPU. A build takes seconds
  to minutes, so the serialised plan is kept in the engine cache (`sgnet.engines.cache.cache_dir()`:
  `$SGNET_CACHE` or ~/.cache/sgnet-live/engines), keyed by the ONNX file's contents (which hold the
  weights and the input size), the precision, the GPU's name and compute capability and the
  TensorRT version (`PlanKey`): a plan only runs on the GPU and TensorRT that built it.
- Precision: fp32 (TensorRT's default, which lets convolutions use TF32 like cuDNN does) or fp16.
  TensorRT 11 builds only strongly typed networks: fp16 then needs an fp16 export (`sgnet export
  --format onnx --fp16`, float32 inputs and logits, half precision inside), built as it is.
  TensorRT 10 can also turn an fp32 export into fp16 itself (its FP16 builder flag).
- Run: `engine(image, xyz)` takes float32 (N, 3, H, W) CUDA tensors and returns the logits as a
  CUDA tensor: the tensors' addresses are handed to `execute_async_v3` on torch's current stream,
  so no copy is made and the call is ordered with the surrounding torch work.
- Errors: no CUDA, no `tensorrt` package (`pip install 'sgnet-live[tensorrt]'`), a package that
  does not load, a file TensorRT cannot parse or build: one line each (`SGNetUserError`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sgnet.engines.base import EngineInfo
from sgnet.engines.cache import ENV_VAR, cache_dir, file_sha
from sgnet.errors import DeviceUnavailableError, SGNetUserError

FORMAT = "onnx"
PRECISIONS = ("fp32", "fp16")
PLAN_SUFFIX = ".plan"
WORKSPACE_BYTES = 4 << 30  # builder scratch memory TensorRT may use while choosing kernels
INPUTS = ("image", "xyz")
OUTPUT = "logits"


@dataclass(frozen=True)
class PlanKey:
    """What a built plan depends on; its file name in the cache says it (and a digest of all of it)."""

    onnx_sha: str  # the export's contents: weights, input size, S-Conv path, precision inside
    model: str
    shape: tuple[int, int, int, int]  # (N, 3, H, W) the plan runs
    precision: str  # fp32 | fp16
    gpu: str  # torch.cuda.get_device_name
    capability: str  # "sm_90"
    tensorrt: str  # tensorrt.__version__

    def digest(self) -> str:
        text = "|".join(str(v) for v in (self.onnx_sha, self.model, self.shape, self.precision, self.gpu,
                                         self.capability, self.tensorrt))  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def file_name(self) -> str:
        n, _, h, w = self.shape
        gpu = re.sub(r"[^a-z0-9]+", "-", self.gpu.lower()).strip("-") or "gpu"
        batch = f"b{n}-" if n != 1 else ""
        return (f"{self.model}-{h}x{w}-{batch}tensorrt-{self.precision}-{gpu}-{self.capability}-trt{self.tensorrt}-"
                f"{self.digest()}{PLAN_SUFFIX}")  # fmt: skip


def plan_path(key: PlanKey) -> Path:
    """Where the plan for `key` is kept: the engine cache's folder, beside the exports."""
    return cache_dir() / key.file_name()


def check_request(device: torch.device | str, precision: str) -> torch.device:
    """The CUDA device to build for; one line when the device or the precision cannot be TensorRT's."""
    device = torch.device(device)
    if device.type != "cuda":
        raise DeviceUnavailableError(f"engine tensorrt runs on a CUDA GPU (got device {device}): use --device cuda, "
                                     "or engine onnxruntime/openvino on a CPU")  # fmt: skip
    if not torch.cuda.is_available():
        raise DeviceUnavailableError("engine tensorrt needs a CUDA GPU, and torch sees none here (no CUDA device or a "
                                     "CPU-only torch build): use engine onnxruntime or openvino on a CPU")
    if precision not in PRECISIONS:
        raise SGNetUserError(f"engine tensorrt runs fp32 or fp16, not {precision}: use --precision fp16 (or fp32)")
    if device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def import_tensorrt() -> Any:
    """The `tensorrt` module, or one line naming the extra (not installed) or the cause (does not load)."""
    from sgnet.engines import require

    require(("tensorrt",), "tensorrt", "engine tensorrt")
    try:
        import tensorrt
    except Exception as e:  # installed but broken: libnvinfer missing, a CUDA it was not built for
        first = (str(e).strip().splitlines() or [""])[0]
        raise SGNetUserError(
            f"engine tensorrt: the tensorrt package is installed but does not load ({type(e).__name__}: {first}); "
            "reinstall the build for this machine's CUDA: pip install --force-reinstall 'sgnet-live[tensorrt]'"
        ) from None
    return tensorrt


@dataclass(frozen=True)
class BuildSettings:
    """How a plan is built: network creation flags, builder flags, and the precision it then runs."""

    network_flags: tuple[str, ...]  # names in trt.NetworkDefinitionCreationFlag
    builder_flags: tuple[str, ...]  # names in trt.BuilderFlag
    precision: str


def build_settings(trt: Any, file_precision: str, precision: str) -> BuildSettings:
    """The flags for an export holding `file_precision`, asked to run `precision` (see the module doc).

    An fp16 export is built strongly typed as it is (it runs fp16 whatever was asked: the file holds
    that). An fp32 export runs fp32, or fp16 through TensorRT 10's FP16 flag; TensorRT 11 has no such
    flag, so that is one line saying how to make an fp16 export.
    """
    strongly = ("STRONGLY_TYPED",) if hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED") else ()
    if file_precision == "int8":
        raise SGNetUserError("engine tensorrt builds fp32 and fp16 exports; this one is int8 (made for ONNX Runtime or "
                             "OpenVINO): export without --int8")  # fmt: skip
    if file_precision == "fp16":
        return BuildSettings(strongly, (), "fp16")
    if precision == "fp32":
        return BuildSettings((), (), "fp32")
    if hasattr(trt.BuilderFlag, "FP16"):
        return BuildSettings((), ("FP16",), "fp16")
    raise SGNetUserError(
        f"TensorRT {trt.__version__} builds fp16 only from an fp16 export (strong typing): make one with `sgnet export "
        "--format onnx --fp16` and pass it with --engine tensorrt --weights, or use --precision fp32"
    )


def _make_logger(trt: Any) -> Any:
    """A TensorRT logger that keeps the messages (errors name why a parse or build failed)."""

    class Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []
            self.warnings: list[str] = []

        def log(self, severity: Any, msg: str) -> None:
            if int(severity) <= int(trt.ILogger.Severity.ERROR):
                self.errors.append(msg)
            elif int(severity) == int(trt.ILogger.Severity.WARNING):
                self.warnings.append(msg)

    return Logger()


class TensorRTEngine:
    """`logits = engine(image, xyz)` through a TensorRT plan built from an ONNX export (module doc).

    A static export is built when the engine is made; a dynamic one (`--dynamic`) once per input shape,
    when that shape first comes. `cache=False` builds in memory only. `on_build(message)` is told
    before a build starts (they take a while).
    """

    def __init__(self, path: Path, device: torch.device, precision: str = "fp32", cache: bool = True,
                 on_build: Callable[[str], None] | None = None) -> None:  # fmt: skip
        from sgnet.engines.export import read_metadata

        self.device = check_request(device, precision)
        self.trt = trt = import_tensorrt()
        self.path = Path(path)
        if not self.path.is_file():
            raise SGNetUserError(f"ONNX file not found: {self.path}")
        self.meta = read_metadata(self.path)
        self.cache = cache
        self.on_build = on_build
        self.settings = build_settings(trt, self.meta.get("precision", "fp32"), precision)
        self.model = self.meta.get("model") or self.path.stem
        self.gpu = torch.cuda.get_device_name(self.device)
        major, minor = torch.cuda.get_device_capability(self.device)
        self.capability = f"sm_{major}{minor}"
        self._sha = file_sha(self.path)
        self._logger = _make_logger(trt)
        self._runtime = trt.Runtime(self._logger)
        self._plans: dict[tuple[int, ...], tuple[Any, Any]] = {}  # shape -> (engine, execution context)
        self.built: list[Path | None] = []  # plans this object built (None: not cached)
        self.plan_files: list[Path] = []
        size = self.meta.get("input_size", "")
        self.input_size = None
        if self.meta.get("dynamic") != "1" and re.fullmatch(r"\d+x\d+", size):
            h, w = (int(v) for v in size.split("x"))
            self.input_size = (h, w)
            self._plan_for((1, 3, h, w))  # a static export: build (or load) now, errors before the first frame
        where = str(cache_dir()) if cache else "not cached"
        self.info = EngineInfo("tensorrt", self.settings.precision, f"TensorRT {trt.__version__} on {self.gpu} "
                               f"({self.capability}), S-Conv {self.meta.get('sconv', '?')}, {self.path.name}, "
                               f"plans {where}")  # fmt: skip

    # -- plans ----------------------------------------------------------------------------------
    def _key(self, shape: tuple[int, ...]) -> PlanKey:
        return PlanKey(self._sha, self.model, tuple(shape), self.settings.precision, self.gpu, self.capability,
                       self.trt.__version__)  # fmt: skip

    def _plan_for(self, shape: tuple[int, ...]) -> tuple[Any, Any]:
        got = self._plans.get(shape)
        if got is not None:
            return got
        key = self._key(shape)
        path = plan_path(key) if self.cache else None
        engine = None
        if path is not None and path.is_file():
            engine = self._runtime.deserialize_cuda_engine(path.read_bytes())  # None: stale or damaged -> rebuild
        if engine is None:
            plan = self._build(shape, path)
            engine = self._runtime.deserialize_cuda_engine(plan)
            if engine is None:
                raise SGNetUserError(f"TensorRT {self.trt.__version__} built a plan for {self.path.name} it cannot "
                                     f"load: {self._last_error()}")  # fmt: skip
        if path is not None:
            self.plan_files.append(path)
        context = engine.create_execution_context()
        self._plans[shape] = (engine, context)
        return engine, context

    def _build(self, shape: tuple[int, ...], path: Path | None) -> bytes:
        trt = self.trt
        if self.on_build is not None:
            where = f"into {path.parent}" if path is not None else "(not cached)"
            self.on_build(f"building a TensorRT {self.settings.precision} engine for {self.model} at "
                          f"{shape[2]}x{shape[3]} on {self.gpu} {where}: this takes a minute or more, once")
        self._logger.errors.clear()
        with torch.cuda.device(self.device):
            builder = trt.Builder(self._logger)
            flags = 0
            for name in self.settings.network_flags:
                flags |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
            network = builder.create_network(flags)
            parser = trt.OnnxParser(network, self._logger)
            if not parser.parse_from_file(str(self.path)):
                errors = [str(parser.get_error(i)) for i in range(parser.num_errors)] or self._logger.errors
                raise SGNetUserError(f"TensorRT {trt.__version__} cannot read {self.path.name}: "
                                     f"{(errors or ['no reason given'])[0]} (export it with the portable S-Conv: "
                                     "sgnet export --format onnx)")  # fmt: skip
            names = [network.get_input(i).name for i in range(network.num_inputs)]
            if sorted(names) != sorted(INPUTS):
                raise SGNetUserError(f"{self.path.name} has inputs {names}, not image and xyz: export it with "
                                     "`sgnet export`")  # fmt: skip
            config = builder.create_builder_config()
            config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
            for name in self.settings.builder_flags:
                config.set_flag(getattr(trt.BuilderFlag, name))
            if any(d < 0 for i in range(network.num_inputs) for d in network.get_input(i).shape):
                profile = builder.create_optimization_profile()  # dynamic export: this shape exactly
                for name in INPUTS:
                    profile.set_shape(name, shape, shape, shape)
                config.add_optimization_profile(profile)
            plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise SGNetUserError(f"TensorRT {trt.__version__} could not build {self.path.name} "
                                 f"({self.settings.precision}) for {self.gpu}: {self._last_error()}")  # fmt: skip
        data = bytes(memoryview(plan))
        if path is not None:
            _write_atomic(path, data)
        self.built.append(path)
        return data

    def _last_error(self) -> str:
        return self._logger.errors[-1] if self._logger.errors else "TensorRT gave no reason"

    # -- run ------------------------------------------------------------------------------------
    def __call__(self, image: torch.Tensor, xyz: torch.Tensor) -> torch.Tensor:
        if image.device != self.device or xyz.device != self.device:
            raise SGNetUserError(f"engine tensorrt runs on {self.device}; the inputs are on {image.device}")
        if self.input_size is not None and (tuple(image.shape[-2:]) != self.input_size or image.shape[0] != 1):
            h, w = self.input_size
            raise SGNetUserError(
                f"{self.path.name} was exported for one {h}x{w} input, got {image.shape[0]} of "
                f"{image.shape[-2]}x{image.shape[-1]}: export it again at that size (or with --dynamic)"
            )
        shape = tuple(int(s) for s in image.shape)
        with torch.cuda.device(self.device):  # the calling thread (the pipeline's) may have another current device
            engine, context = self._plan_for(shape)
            feeds = {"image": image, "xyz": xyz}
            for name, t in feeds.items():
                # inputs made contiguous here are freed after the call; torch's allocator reuses such memory
                # only for later work on the same stream, so the engine still reads them intact
                feeds[name] = t.to(_torch_dtype(self.trt, engine.get_tensor_dtype(name))).contiguous()
                context.set_input_shape(name, tuple(feeds[name].shape))
                context.set_tensor_address(name, feeds[name].data_ptr())
            out_shape = tuple(int(d) for d in context.get_tensor_shape(OUTPUT))
            out_dtype = _torch_dtype(self.trt, engine.get_tensor_dtype(OUTPUT))
            out = torch.empty(out_shape, dtype=out_dtype, device=self.device)
            context.set_tensor_address(OUTPUT, out.data_ptr())
            stream = torch.cuda.current_stream(self.device)
            if not context.execute_async_v3(stream.cuda_stream):
                raise RuntimeError(f"TensorRT failed to run {self.path.name}: {self._last_error()}")
        return out.float()


def _torch_dtype(trt: Any, dt: Any) -> torch.dtype:
    table = {trt.DataType.FLOAT: torch.float32, trt.DataType.HALF: torch.float16}
    if hasattr(trt.DataType, "BF16"):
        table[trt.DataType.BF16] = torch.bfloat16
    if dt not in table:
        raise SGNetUserError(f"engine tensorrt: the export has a {dt} input or output; export it again with "
                             "`sgnet export` (float32 inputs and logits)")  # fmt: skip
    return table[dt]


def _write_atomic(path: Path, data: bytes) -> None:
    """The plan through a temporary name in the cache folder, then renamed: a half-written plan never loads."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=PLAN_SUFFIX, dir=path.parent)
    except OSError as e:
        raise SGNetUserError(f"cannot write the TensorRT plan into {path.parent}: {e.strerror or e} (set {ENV_VAR} to "
                             "another folder, or use --no-cache)") from None  # fmt: skip
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path, device: torch.device, precision: str = "fp32", cache: bool = True,
         on_build: Callable[[str], None] | None = None) -> TensorRTEngine:  # fmt: skip
    """The engine table's entry point (`sgnet.engines.TABLE`): a TensorRT engine for the ONNX file at `path`."""
    return TensorRTEngine(path, device, precision, cache=cache, on_build=on_build)
