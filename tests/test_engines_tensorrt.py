"""The TensorRT engine: plan cache keys, build decisions and one-line errors on any machine; the
build and the run against eager torch on a GPU with `tensorrt` installed (skipped elsewhere)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from sgnet.engines import MissingExtraError, lookup
from sgnet.engines import tensorrt_engine as te
from sgnet.errors import DeviceUnavailableError, SGNetUserError

HAVE_TRT = importlib.util.find_spec("tensorrt") is not None
KEY = te.PlanKey("0123456789abcdef", "sgnet_r101", (1, 3, 480, 640), "fp16", "NVIDIA H100 80GB HBM3", "sm_90",
                 "11.4.0.106")  # fmt: skip


def test_the_plan_name_says_what_it_was_built_for() -> None:
    name = KEY.file_name()
    assert name == f"sgnet_r101-480x640-tensorrt-fp16-nvidia-h100-80gb-hbm3-sm_90-trt11.4.0.106-{KEY.digest()}.plan"
    assert replace(KEY, shape=(4, 3, 480, 640)).file_name().startswith("sgnet_r101-480x640-b4-tensorrt-")


@pytest.mark.parametrize("field,value", [
    ("onnx_sha", "fedcba9876543210"),  # other weights or size (both are in the export)
    ("shape", (1, 3, 240, 320)),
    ("precision", "fp32"),
    ("gpu", "NVIDIA H200"),
    ("capability", "sm_89"),
    ("tensorrt", "10.13.0.35"),
])  # fmt: skip
def test_every_part_of_the_key_changes_the_plan(field: str, value) -> None:
    other = replace(KEY, **{field: value})
    assert other.digest() != KEY.digest() and other.file_name() != KEY.file_name()
    assert replace(KEY).digest() == KEY.digest()  # and the same key is the same plan


def test_plans_live_in_the_engine_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGNET_CACHE", str(tmp_path / "cache"))
    assert te.plan_path(KEY) == tmp_path / "cache" / KEY.file_name()
    monkeypatch.delenv("SGNET_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert te.plan_path(KEY) == tmp_path / ".cache" / "sgnet-live" / "engines" / KEY.file_name()


def test_file_sha_follows_the_contents(tmp_path: Path) -> None:
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 3_000_000)
    assert te.file_sha(a) == te.file_sha(b) and len(te.file_sha(a)) == 16
    b.write_bytes(b"x" * 2_999_999 + b"y")
    assert te.file_sha(a) != te.file_sha(b)


def test_a_cpu_device_is_one_line() -> None:
    with pytest.raises(DeviceUnavailableError) as info:
        te.check_request("cpu", "fp16")
    assert str(info.value) == ("engine tensorrt runs on a CUDA GPU (got device cpu): use --device cuda, or engine "
                               "onnxruntime/openvino on a CPU")  # fmt: skip


@pytest.mark.skipif(torch.cuda.is_available(), reason="the message for a machine without CUDA")
def test_cuda_asked_without_cuda_is_one_line() -> None:
    with pytest.raises(DeviceUnavailableError, match="torch sees none here"):
        te.check_request("cuda", "fp32")


def test_precisions_other_than_fp32_fp16_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for bad in ("bf16", "int8"):
        with pytest.raises(SGNetUserError, match=f"runs fp32 or fp16, not {bad}: use --precision fp16"):
            te.check_request(torch.device("cuda", 0), bad)
    assert te.check_request(torch.device("cuda", 0), "fp16") == torch.device("cuda", 0)


@pytest.mark.skipif(HAVE_TRT, reason="tensorrt is installed here")
def test_without_the_package_the_line_names_the_extra() -> None:
    with pytest.raises(MissingExtraError) as info:
        te.import_tensorrt()
    assert str(info.value) == "engine tensorrt needs tensorrt (not installed): pip install 'sgnet-live[tensorrt]'"


def test_a_package_that_does_not_load_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "tensorrt"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "raise ImportError('libnvinfer.so.11: cannot open shared object file: No such file or directory')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tensorrt", raising=False)
    importlib.invalidate_caches()
    with pytest.raises(SGNetUserError) as info:
        te.import_tensorrt()
    msg = str(info.value)
    assert msg.startswith("engine tensorrt: the tensorrt package is installed but does not load (ImportError: "
                          "libnvinfer.so.11: cannot open shared object file")  # fmt: skip
    assert msg.endswith("pip install --force-reinstall 'sgnet-live[tensorrt]'") and "\n" not in msg


def _fake_trt(version: str, fp16_flag: bool, strongly: bool = True) -> SimpleNamespace:
    """The attributes `build_settings` reads, as TensorRT 10 (FP16 flag) or 11 (strong typing only) has them."""
    builder = SimpleNamespace(**({"FP16": 1} if fp16_flag else {}), TF32=2)
    network = SimpleNamespace(**({"STRONGLY_TYPED": 1} if strongly else {}))
    return SimpleNamespace(__version__=version, BuilderFlag=builder, NetworkDefinitionCreationFlag=network)


TRT10, TRT11 = _fake_trt("10.13.0.35", True), _fake_trt("11.4.0.106", False)


@pytest.mark.parametrize("trt", [TRT10, TRT11], ids=["trt10", "trt11"])
def test_build_settings_fp32_and_fp16_exports(trt) -> None:
    assert te.build_settings(trt, "fp32", "fp32") == te.BuildSettings((), (), "fp32")
    fp16_file = te.build_settings(trt, "fp16", "fp16")
    assert fp16_file == te.BuildSettings(("STRONGLY_TYPED",), (), "fp16")
    assert te.build_settings(trt, "fp16", "fp32").precision == "fp16"  # the file holds fp16: that is what runs


def test_tensorrt_10_makes_fp16_from_an_fp32_export_itself() -> None:
    assert te.build_settings(TRT10, "fp32", "fp16") == te.BuildSettings((), ("FP16",), "fp16")


def test_tensorrt_11_needs_an_fp16_export_for_fp16() -> None:
    with pytest.raises(SGNetUserError) as info:
        te.build_settings(TRT11, "fp32", "fp16")
    assert str(info.value) == (
        "TensorRT 11.4.0.106 builds fp16 only from an fp16 export (strong typing): make one with `sgnet export "
        "--format onnx --fp16` and pass it with --engine tensorrt --weights, or use --precision fp32"
    )


def test_an_int8_export_is_refused() -> None:
    with pytest.raises(SGNetUserError, match="this one is int8"):
        te.build_settings(TRT10, "int8", "fp32")


def test_a_plan_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "cache" / KEY.file_name()
    te._write_atomic(path, b"plan bytes")
    assert path.read_bytes() == b"plan bytes" and [p.name for p in path.parent.iterdir()] == [path.name]
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(SGNetUserError) as info:
        te._write_atomic(blocked / "x.plan", b"plan")
    assert str(info.value).startswith(f"cannot write the TensorRT plan into {blocked}: ")
    assert "set SGNET_CACHE to another folder, or use --no-cache" in str(info.value)


def test_the_engine_table_reaches_this_module(tmp_path: Path) -> None:
    entry = lookup("tensorrt")
    module = importlib.import_module(entry.module)
    assert module is te and module.FORMAT == entry.format == "onnx" and callable(module.load)
    with pytest.raises(SGNetUserError):  # a CPU here: CUDA, or the package, is named in one line
        te.load(tmp_path / "missing.onnx", torch.device("cpu"), "fp32")


# -- on a GPU with TensorRT -------------------------------------------------------------------------
needs_trt = pytest.mark.skipif(not HAVE_TRT, reason="tensorrt is not installed (pip install 'sgnet-live[tensorrt]')")


@pytest.fixture(scope="module")
def lite_exports(tmp_path_factory):
    """sgnet_lite (shipped weights) exported at 64x96: fp32, fp16 inside, and dynamic."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    from sgnet.engines.export import export_onnx

    folder = tmp_path_factory.mktemp("trt")
    return {
        "fp32": export_onnx("sgnet_lite", (64, 96), folder / "lite.onnx"),
        "fp16": export_onnx("sgnet_lite", (64, 96), folder / "lite16.onnx", fp16=True),
        "dynamic": export_onnx("sgnet_lite", (64, 96), folder / "lite-dyn.onnx", dynamic=True),
    }


def _torch_logits(shape=(1, 3, 64, 96), seed=0):
    from sgnet.forward import main_output
    from sgnet.loading import load_model

    g = torch.Generator().manual_seed(seed)
    image = (torch.randn(*shape, generator=g) * 50).cuda()
    xyz = (torch.rand(*shape, generator=g) * 4).cuda()
    net = load_model("sgnet_lite").net.eval().cuda()
    with torch.inference_mode():
        return image, xyz, main_output(net(image, xyz)).float()


def _agree(got: torch.Tensor, want: torch.Tensor, rel: float) -> None:
    assert got.shape == want.shape and got.device == want.device and got.dtype == torch.float32
    err = float((got - want).abs().max() / want.abs().max())
    assert err <= rel, err
    assert float((got.argmax(1) == want.argmax(1)).float().mean()) >= 0.99


@pytest.mark.gpu
@needs_trt
def test_fp32_plan_matches_torch_and_is_cached(lite_exports, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SGNET_CACHE", str(tmp_path))
    said = []
    engine = te.load(lite_exports["fp32"], torch.device("cuda"), "fp32", on_build=said.append)
    assert len(engine.built) == 1 and engine.built[0].is_file() and len(said) == 1
    image, xyz, want = _torch_logits()
    _agree(engine(image, xyz), want, 1e-2)  # TF32 on both sides
    again = te.load(lite_exports["fp32"], torch.device("cuda"), "fp32", on_build=said.append)
    assert again.built == [] and len(said) == 1  # loaded from the cache, no second build
    _agree(again(image, xyz), want, 1e-2)


@pytest.mark.gpu
@needs_trt
def test_fp16_plan_matches_torch(lite_exports, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SGNET_CACHE", str(tmp_path))
    engine = te.load(lite_exports["fp16"], torch.device("cuda"), "fp16")
    assert engine.info.precision == "fp16"
    image, xyz, want = _torch_logits()
    _agree(engine(image, xyz), want, 5e-2)


@pytest.mark.gpu
@needs_trt
def test_runs_on_the_current_stream(lite_exports, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SGNET_CACHE", str(tmp_path))
    engine = te.load(lite_exports["fp32"], torch.device("cuda"), "fp32", cache=False)
    image, xyz, want = _torch_logits()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        out = engine(image * 1.0, xyz * 1.0)  # inputs made on the side stream, used there before any sync
        out = out.clone()
    torch.cuda.current_stream().wait_stream(side)
    _agree(out, want, 1e-2)


@pytest.mark.gpu
@needs_trt
def test_a_dynamic_export_builds_per_shape(lite_exports, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SGNET_CACHE", str(tmp_path))
    engine = te.load(lite_exports["dynamic"], torch.device("cuda"), "fp32")
    assert engine.built == []  # nothing until a shape comes
    for shape in ((1, 3, 64, 96), (1, 3, 96, 128)):
        image, xyz, want = _torch_logits(shape)
        _agree(engine(image, xyz), want, 1e-2)
    assert len(engine.built) == 2


@pytest.mark.gpu
@needs_trt
def test_a_static_export_refuses_another_size(lite_exports, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SGNET_CACHE", str(tmp_path))
    engine = te.load(lite_exports["fp32"], torch.device("cuda"), "fp32")
    image = torch.zeros(1, 3, 32, 48, device="cuda")
    with pytest.raises(SGNetUserError, match="was exported for one 64x96 input, got 1 of 32x48"):
        engine(image, image)


def test_the_engine_table_hands_no_cache_and_the_build_line_to_tensorrt(monkeypatch):
    """--no-cache must reach the TensorRT plan cache, and its minutes-long build must be said."""
    import dataclasses
    import types

    from sgnet import engines

    seen = {}

    def fake_load(path, device, precision, cache, on_build):
        seen.update(cache=cache, on_build=on_build)
        return "engine"

    monkeypatch.setattr(engines.importlib, "import_module", lambda name: types.SimpleNamespace(load=fake_load))
    entry = dataclasses.replace(engines.lookup("tensorrt"), needs_cuda=False, packages=())
    say = print
    assert entry.load("m.onnx", "cuda", "fp16", cache=False, on_build=say) == "engine"
    assert seen == {"cache": False, "on_build": say}
