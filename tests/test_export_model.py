"""Exported networks against torch: sgnet_lite (shipped weights) and sgnet_r50 (random weights, small
size), each S-Conv path run by ONNX Runtime and by OpenVINO on rendered demo frames, within the
issue's parity (max |error| / max |logit| <= 1e-4, labels agreeing on >= 99.9 % of pixels); the
metadata round trip; `sgnet export` as a user runs it."""

from __future__ import annotations

import json

import pytest
import torch
from cli_runner import run_cli

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")
pytest.importorskip("onnxscript")

from sgnet.engines import lookup  # noqa: E402
from sgnet.engines.check import LABEL_AGREEMENT, REL_TOL, compare  # noqa: E402
from sgnet.engines.export import SCONV_PATHS, export_onnx, export_openvino, read_metadata  # noqa: E402
from sgnet.engines.files import load_exported  # noqa: E402
from sgnet.loading import load_model  # noqa: E402

CPU = torch.device("cpu")
MODELS = {"sgnet_lite": (240, 320), "sgnet_r50": (96, 128)}


@pytest.fixture(scope="module")
def frames():
    from app.sources.demo import DemoSource

    src = DemoSource()
    return [src.frame(i) for i in (0, 120)]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """{model: (loaded, {sconv path: .onnx})}: each model exported once per S-Conv path."""
    folder = tmp_path_factory.mktemp("exports")
    out = {}
    for name, size in MODELS.items():
        loaded = load_model(name) if name == "sgnet_lite" else load_model(name, random_weights=True)
        out[name] = (loaded, {p: export_onnx(loaded, size, folder / f"{name}-{p}.onnx", sconv=p) for p in SCONV_PATHS})
    return out


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("sconv", SCONV_PATHS)
@pytest.mark.parametrize("model", list(MODELS))
def test_parity_per_engine_and_sconv_path(exports, frames, model: str, sconv: str, engine: str) -> None:
    loaded, paths = exports[model]
    runner = lookup(engine).load(paths[sconv], CPU, "fp32")  # OpenVINO reads the .onnx itself (+ DeformConv rule)
    parity = compare(runner, loaded.net, frames, MODELS[model])
    assert parity.rel <= REL_TOL, parity.line()
    assert parity.labels_agree >= LABEL_AGREEMENT, parity.line()


def test_openvino_ir_and_metadata_round_trip(exports, frames, tmp_path) -> None:
    loaded, _ = exports["sgnet_lite"]
    xml = export_openvino(loaded, (240, 320), tmp_path / "lite.xml")
    assert xml.with_suffix(".bin").is_file()
    meta = read_metadata(xml)
    assert meta["model"] == "sgnet_lite" and meta["input_size"] == "240x320" and meta["sconv"] == "deformconv"
    assert json.loads(meta["normalization"]) == {"order": "BGR", "mean": [104.008, 116.669, 122.675],
                                                 "range": "0-255", "std": None}  # fmt: skip
    assert meta["xyz_mode"] == "frame" and meta["version"] and meta["precision"] == "fp32"
    exported = load_exported(xml)
    assert exported.classes == loaded.classes and exported.input_size == (240, 320)
    assert exported.engine == "openvino" and exported.name == "sgnet_lite"
    parity = compare(lookup("openvino").load(xml, CPU, "fp32"), loaded.net, frames, (240, 320))
    assert parity.passed, parity.line()


def test_onnx_metadata_round_trip(exports) -> None:
    loaded, paths = exports["sgnet_r50"]
    exported = load_exported(paths["portable"])
    assert exported.name == "sgnet_r50" and exported.classes == loaded.classes
    assert exported.input_size == (96, 128) and exported.engine == "onnxruntime"
    assert exported.meta["sconv"] == "portable" and exported.meta["dynamic"] == "0"


def test_static_export_says_its_size(exports) -> None:
    from sgnet.errors import SGNetUserError

    _, paths = exports["sgnet_r50"]
    runner = lookup("onnxruntime").load(paths["deformconv"], CPU, "fp32")
    with pytest.raises(SGNetUserError, match="exported for 96x128 inputs, got 64x64"):
        runner(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64))


def test_dynamic_export_runs_other_sizes(tmp_path) -> None:
    loaded = load_model("sgnet_lite")
    path = export_onnx(loaded, (96, 128), tmp_path / "dyn.onnx", dynamic=True, sconv="deformconv")
    assert load_exported(path).input_size is None
    runner = lookup("onnxruntime").load(path, CPU, "fp32")
    g = torch.Generator().manual_seed(0)
    for h, w in ((96, 128), (120, 160)):
        image, xyz = torch.randn(2, 3, h, w, generator=g) * 50, torch.rand(2, 3, h, w, generator=g) * 4
        with torch.inference_mode():
            ref = loaded.net(image, xyz)
        ref = ref[0] if isinstance(ref, list | tuple) else ref
        got = runner(image, xyz)
        assert got.shape == ref.shape
        assert float((got - ref).abs().max() / ref.abs().max()) <= REL_TOL


def test_cli_export_checks_and_says_the_numbers(tmp_path, capsys) -> None:
    out = tmp_path / "lite.onnx"
    args = ["export", "--model", "sgnet_lite", "--size", "120x160", "--sconv", "deformconv", "-o", str(out)]
    assert run_cli(args) == 0
    err = capsys.readouterr().err
    assert f"wrote {out}" in err and "S-Conv deformconv" in err
    check = next(line for line in err.splitlines() if line.startswith("check:"))
    assert "labels agree on" in check and check.endswith(": ok")
    assert read_metadata(out)["input_size"] == "120x160"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "tflite", "-o", "x.tflite"], "unknown export format 'tflite'"),
        (["--format", "openvino", "-o", "x.onnx"], "must end in .xml"),
        (["--format", "onnx", "--int8", "--calibrate", "demo", "-o", "x.onnx"], "--int8 is available for openvino"),
        (["--format", "openvino", "--int8", "-o", "x.xml"], "--int8 needs calibration frames"),
        (["--sconv", "gather", "-o", "x.onnx"], "--sconv must be auto"),
        (["--size", "8x8", "-o", "x.onnx"], "out of range"),
        (["--weights", "missing.safetensors", "-o", "x.onnx"], "weights file not found"),
    ],
)
def test_cli_mistakes_are_one_line(tmp_path, capsys, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(["export", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_missing_extra_is_one_line_naming_it(tmp_path, capsys, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    assert run_cli(["export", "--format", "openvino", "-o", str(tmp_path / "m.xml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'sgnet-live[openvino]'" in err[0], err


def test_fp16_export_keeps_float32_inputs_and_logits(tmp_path, frames) -> None:
    loaded = load_model("sgnet_lite")
    path = export_onnx(loaded, (96, 128), tmp_path / "half.onnx", fp16=True)
    assert read_metadata(path)["precision"] == "fp16"
    parity = compare(lookup("onnxruntime").load(path, CPU, "fp32"), loaded.net, frames, (96, 128))
    assert parity.rel < 1e-2 and parity.labels_agree > 0.99, parity.line()  # half precision inside
    assert next(loaded.net.parameters()).dtype == torch.float32  # the caller's network is untouched


def test_cli_int8_export_with_accuracy_control(tmp_path, capsys) -> None:
    pytest.importorskip("nncf")
    out = tmp_path / "q.xml"
    args = ["export", "--format", "openvino", "--size", "96x128", "--int8", "--calibrate", "demo", "--calib-frames",
            "4", "-o", str(out)]  # fmt: skip
    assert run_cli(args) == 0
    err = capsys.readouterr().err
    assert "int8 calibration on 4 frames of demo, labels kept on >= 99 % of their pixels" in err
    assert "for information (reduced precision)" in err
    assert read_metadata(out)["precision"] == "int8"
    engine = lookup("openvino").load(out, CPU, "fp32")
    assert engine.info.precision == "int8"
    assert engine(torch.zeros(1, 3, 96, 128), torch.ones(1, 3, 96, 128)).shape[:2] == (1, 40)
