"""Engines behind the Segmenter: the Python API segments RGB-D frames like the torch engine, a checkpoint
is exported once into the cache (and again only with no_cache), an exported file given as weights picks
its engine (also in sgnet-live, as a user runs it), and every mistake is one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from cli_runner import run_cli
from test_app_cli import LIVE, run

import sgnet
from sgnet.errors import SGNetUserError

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")
pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def frames():
    from app.sources.demo import DemoSource

    src = DemoSource()
    return [src.frame(i) for i in (0, 60, 150)]


@pytest.fixture(scope="module")
def torch_labels(frames):
    seg = sgnet.Segmenter("sgnet_lite", device="cpu")
    return [seg.segment(f).labels for f in frames]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SGNET_CACHE", str(folder))
    return folder


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
def test_python_api_segments_like_torch_and_caches_the_export(engine, frames, torch_labels, cache) -> None:
    said: list[str] = []
    seg = sgnet.Segmenter("sgnet_lite", device="cpu", engine=engine, on_export=said.append)
    assert seg.engine_name == engine and seg.prepare(240, 320).name == engine
    assert len(said) == 1 and f"for {engine}" in said[0] and str(cache) in said[0]
    for f, expected in zip(frames, torch_labels, strict=True):
        result = seg.segment(f)
        assert result.labels.shape == expected.shape and list(result.timings) == list(sgnet.segmenter.STAGES)
        assert float(np.mean(result.labels == expected)) >= 0.999
        assert result.classes == seg.classes
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == (2 if engine == "openvino" else 1)  # .xml + .bin
    again: list[str] = []
    sgnet.Segmenter("sgnet_lite", device="cpu", engine=engine, on_export=again.append).prepare(240, 320)
    assert again == []  # the second load does not export
    fresh: list[str] = []
    seg2 = sgnet.Segmenter("sgnet_lite", device="cpu", engine=engine, no_cache=True, on_export=fresh.append)
    seg2.prepare(240, 320)
    assert len(fresh) == 1 and "no cache" in fresh[0]  # no_cache exports again, elsewhere
    assert sorted(p.name for p in cache.iterdir()) == files


def test_another_frame_size_exports_another_size(frames, cache) -> None:
    from app.sources.base import SourceOptions
    from app.sources.demo import DemoSource

    said: list[str] = []
    seg = sgnet.Segmenter("sgnet_lite", device="cpu", engine="onnxruntime", on_export=said.append)
    seg.segment(frames[0])
    small = DemoSource(SourceOptions(width=160, height=120)).frame(0)
    assert seg.segment(small).labels.shape == (120, 160)
    assert [s.split(" for ")[0] for s in said] == ["exporting sgnet_lite at 240x320", "exporting sgnet_lite at 120x160"]


def test_exported_file_as_weights_picks_its_engine(frames, torch_labels, tmp_path) -> None:
    from sgnet.engines.export import export_onnx

    path = export_onnx("sgnet_lite", (240, 320), tmp_path / "lite.onnx", sconv="deformconv")
    seg = sgnet.Segmenter(weights=path, device="cpu")
    assert seg.engine_name == "onnxruntime" and seg.model_name == "sgnet_lite" and seg.module is None
    assert seg.classes.key == "nyu40" and "exported sgnet_lite lite.onnx" in seg.loaded.summary
    assert float(np.mean(seg.segment(frames[1]).labels == torch_labels[1])) >= 0.999
    with pytest.raises(SGNetUserError, match="runs with engine onnxruntime, not openvino"):
        sgnet.Segmenter(weights=path, device="cpu", engine="openvino")
    with pytest.raises(SGNetUserError, match="exported for 240x320 inputs, not 120x160"):
        sgnet.Segmenter(weights=path, device="cpu", input_size=(120, 160))
    with pytest.raises(SGNetUserError, match="is an export of sgnet_lite, not sgnet_r50"):
        sgnet.Segmenter("sgnet_r50", weights=path, device="cpu")
    from sgnet.loading import load_model

    with pytest.raises(SGNetUserError, match="is an exported network"):
        load_model(None, path)


def test_engine_mistakes_are_one_clear_error() -> None:
    with pytest.raises(SGNetUserError, match="unknown engine 'tflite'"):
        sgnet.Segmenter("sgnet_lite", device="cpu", engine="tflite")
    if not torch.cuda.is_available():
        with pytest.raises(SGNetUserError, match="engine tensorrt needs a CUDA GPU"):
            sgnet.Segmenter("sgnet_lite", device="cpu", engine="tensorrt")
    with pytest.raises(SGNetUserError, match="torch engine options"):
        sgnet.Segmenter("sgnet_lite", device="cpu", engine="onnxruntime", channels_last=True)
    with pytest.raises(SGNetUserError, match="runs fp32"):
        sgnet.Segmenter("sgnet_lite", device="cpu", engine="onnxruntime", precision="bf16", no_cache=True).prepare(
            240, 320)


def test_missing_extra_names_it(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "onnxruntime" else real(n, *a))
    with pytest.raises(SGNetUserError, match=r"pip install 'sgnet-live\[onnx\]'"):
        sgnet.Segmenter("sgnet_lite", device="cpu", engine="onnxruntime")


def test_sgnet_live_runs_an_onnx_file_as_weights(tmp_path) -> None:
    from sgnet.engines.export import export_onnx

    path = export_onnx("sgnet_lite", (240, 320), tmp_path / "lite.onnx", sconv="deformconv")
    log = tmp_path / "lat.csv"
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 8, "--weights", path, "--device", "cpu",
                   "--log-latency", log])  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "engine: onnxruntime (fp32): ONNX Runtime" in r.stderr
    assert "exported sgnet_lite lite.onnx" in r.stderr and "frames 8" in r.stdout
    # the window builds its engine before the first frame too, and says so
    import os

    r = run(LIVE, ["--camera", "demo", "--frames", 2, "--weights", path, "--device", "cpu"],
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    assert "engine: onnxruntime (fp32): ONNX Runtime" in r.stderr and "frames 2" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "tflite"], "unknown engine 'tflite'"),
        (["--engine", "tensorrt"], "engine tensorrt needs a CUDA GPU"),
    ],
)
def test_sgnet_live_engine_mistakes_are_one_line(args, message) -> None:
    if "tensorrt" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 2, "--device", "cpu", *args])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr


def test_bench_model_alternates_engines(tmp_path, cache, capsys) -> None:
    out = tmp_path / "b.json"
    code = run_cli(["bench", "model", "-m", "sgnet_lite", "--no-paper-sizes", "--size", "64x80", "--device", "cpu",
                    "--warmup", "1", "--iters", "3", "-e", "torch", "-e", "onnxruntime", "-e", "openvino",
                    "--json", str(out)])  # fmt: skip
    assert code == 0
    data = json.loads(out.read_text())
    assert data["engines"] == ["torch", "onnxruntime", "openvino"]
    r = data["results"][0]
    assert list(r["engines"]) == ["torch", "onnxruntime", "openvino"]
    assert r["engines"]["torch"]["ratio_to_first"] == 1.0
    for name in ("onnxruntime", "openvino"):
        e = r["engines"][name]
        assert e["forward"]["iters"] == 3 and e["info"]["name"] == name and e["segmenter"]["model"]["iters"] == 3
    assert "x first" in capsys.readouterr().out


def test_bench_model_engine_mistakes(capsys) -> None:
    assert run_cli(["bench", "model", "-m", "sgnet_lite", "--device", "cpu", "-e", "onnxruntime:bf16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "onnxruntime runs fp32, not bf16" in err[0]


def test_eval_runs_an_engine_per_scale_and_an_exported_file(tmp_path, cache, capsys) -> None:
    from data_layouts import write_nyu

    from sgnet.engines.export import export_onnx
    from sgnet.loading import bundled_weights

    data = write_nyu(tmp_path / "nyu", size=(80, 64))
    weights = str(bundled_weights("sgnet_lite"))
    results = {}
    for name, extra in (("torch", []), ("openvino", ["--engine", "openvino"])):
        out = tmp_path / f"{name}.json"
        args = ["eval", str(data), "-w", weights, "--scales", "1.0,0.5", "--device", "cpu", "--json", str(out), *extra]
        assert run_cli(args) == 0
        results[name] = json.loads(out.read_text())
    err = capsys.readouterr().err
    assert "exporting sgnet_lite at 64x80 for openvino" in err and "at 32x40 for openvino" in err  # one per scale
    assert results["openvino"]["engine"] == "openvino"
    assert results["openvino"]["confusion_matrix"] == results["torch"]["confusion_matrix"]
    path = export_onnx("sgnet_lite", (64, 80), tmp_path / "lite.onnx", sconv="deformconv")
    out = tmp_path / "file.json"
    assert run_cli(["eval", str(data), "-w", str(path), "--device", "cpu", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["engine"] == "onnxruntime"
    capsys.readouterr()
    assert run_cli(["eval", str(data), "-w", str(path), "--device", "cpu", "--scales", "0.5"]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "Traceback" not in err and last.startswith("sgnet: error:")
    assert "exported for 64x80 inputs, got 32x40" in last
