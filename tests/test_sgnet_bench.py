"""`sgnet bench model`: protocol mechanics and JSON output (no speed assertions)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from cli_runner import run_cli

from sgnet.bench import TimingStats, bench_forward, time_calls


def test_timing_stats_summarise():
    s = TimingStats.of([float(v) for v in range(1, 101)])
    assert s.iters == 100 and s.median_ms == 50.5 and s.min_ms == 1.0
    assert s.p90_ms == pytest.approx(np.percentile(np.arange(1, 101), 90))
    assert s.fps == pytest.approx(1000 / 50.5)
    with pytest.raises(ValueError):
        TimingStats.of([])


def test_time_calls_runs_warmup_then_iters():
    calls = []
    out = time_calls(lambda: calls.append(1), torch.device("cpu"), warmup=3, iters=5)
    assert len(calls) == 8 and len(out) == 5 and all(t >= 0 for t in out)


def test_bench_forward_uses_random_inputs_of_the_size():
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, image, xyz):
            seen.append((tuple(image.shape), tuple(xyz.shape), float(xyz.std())))
            return image

    stats = bench_forward(Probe(), (32, 48), torch.device("cpu"), warmup=1, iters=2)
    assert stats.iters == 2 and len(seen) == 3
    assert seen[0][:2] == ((1, 3, 32, 48), (1, 3, 32, 48)) and seen[0][2] > 0.5  # randn S, as the paper


def test_cli_json(tmp_path, capsys):
    out = tmp_path / "b.json"
    code = run_cli(
        [
            "bench",
            "model",
            "-m",
            "sgnet_lite",
            "--no-paper-sizes",
            "--size",
            "48x64",
            "--size",
            "32x32",
            "--device",
            "cpu",
            "--warmup",
            "0",
            "--iters",
            "2",
            "--seg-iters",
            "2",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert data["environment"]["device"] == "cpu" and data["environment"]["torch"] == torch.__version__
    assert [r["size"] for r in data["results"]] == [[48, 64], [32, 32]]
    r = data["results"][0]
    assert r["model"] == "sgnet_lite" and r["forward"]["iters"] == 2 and r["params"] > 1e6
    assert list(r["segmenter"]) == ["upload", "spatial", "model", "postprocess", "total"]
    assert "FPS" in capsys.readouterr().out


def test_cli_rejects_bad_arguments(capsys):
    assert run_cli(["bench", "model", "--size", "48by64", "--device", "cpu"]) == 2
    assert run_cli(["bench", "model", "-m", "sgnet_r33", "--device", "cpu", "--iters", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "48by64" in err[0] and "sgnet_r33" in err[1]
