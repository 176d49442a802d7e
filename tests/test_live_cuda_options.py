"""`--compile`, `--channels-last`, `--cuda-graphs` in `sgnet-live`, and the S-Conv backend checked at start.

On a CPU: the options reach the Segmenter and the start line, CUDA graphs without CUDA and an ops
backend that cannot run end in one line (exit 2), a compiled model is not speed-probed. The `gpu`
tests run the real thing on CUDA.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from app.expectations import COMPILE_LINE, expectations
from app.live import LiveOptions, check_options, load_segmenter, model_line
from app.sources.base import SourceInfo
from sgnet.bench import synthetic_frame

LIVE = [sys.executable, "-c", "from app.cli_live import main; main()"]
ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--camera", "demo", "--headless", "--width", "64", "--height", "48", "--frames", "2"]


def run(args, env=None, timeout=300):
    return subprocess.run(LIVE + args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})  # fmt: skip


def _one_error_line(proc, starts: str) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"sgnet-live: error: {starts}"), lines[0]
    return lines[0]


def test_help_lists_the_options() -> None:
    proc = run(["--help"])
    assert proc.returncode == 0
    for flag in ("--compile", "--channels-last", "--cuda-graphs"):
        assert flag in proc.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_graphs_without_cuda_is_one_line() -> None:
    line = _one_error_line(run([*SMALL, "--cuda-graphs"]), "--cuda-graphs needs a CUDA device")
    assert "--device auto runs on the CPU here" in line and "leave out --cuda-graphs" in line
    # the explicit CPU too, before anything starts
    _one_error_line(run([*SMALL, "--device", "cpu", "--cuda-graphs"]), "--cuda-graphs needs a CUDA device")


def test_an_ops_backend_that_cannot_run_is_one_line() -> None:
    env = {"SGNET_OPS_BACKEND": "triton", "TRITON_INTERPRET": ""}
    line = _one_error_line(run([*SMALL, "--device", "cpu"], env=env), "SGNET_OPS_BACKEND=triton: ops backend 'triton' ")
    assert "(got cpu)" in line
    line = _one_error_line(run([*SMALL, "--device", "cpu"], env={"SGNET_OPS_BACKEND": "fastest"}),
                           "SGNET_OPS_BACKEND=fastest: ")  # fmt: skip
    assert "choose one of auto, torch" in line


def test_channels_last_runs_and_is_said() -> None:
    proc = run([*SMALL, "--device", "cpu", "--channels-last"])
    assert proc.returncode == 0, proc.stderr
    assert "sgnet-live: model: sgnet_lite on cpu (fp32, channels-last), shipped demo weights" in proc.stderr


def test_the_options_reach_the_segmenter_and_the_start_line(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda net, *a, **k: compiled.append(net) or net)
    plain = load_segmenter(LiveOptions(device="cpu"))
    assert not compiled
    opts = LiveOptions(device="cpu", compile=True, channels_last=True)
    check_options(opts)  # compile on a CPU is allowed
    seg = load_segmenter(opts)
    assert len(compiled) == 1 and seg.channels_last and not seg.cuda_graphs
    assert model_line(seg, opts).startswith("model: sgnet_lite on cpu (fp32, compiled, channels-last), shipped demo ")
    assert model_line(plain, LiveOptions(device="cpu")).startswith("model: sgnet_lite on cpu (fp32), shipped demo ")


def test_channels_last_gives_the_same_labels() -> None:
    frame = synthetic_frame(48, 64, seed=4)
    a = load_segmenter(LiveOptions(device="cpu")).segment(frame).labels
    b = load_segmenter(LiveOptions(device="cpu", channels_last=True)).segment(frame).labels
    assert np.mean(a == b) >= 0.999


class _NeverRun:
    """A segmenter whose model must not run (a compiled model is not probed)."""

    device = "cpu"
    model_name = "sgnet_lite"
    loaded = None

    def segment(self, frame):
        raise AssertionError("the speed probe ran a compiled model")


def test_a_compiled_model_is_not_speed_probed() -> None:
    info = SourceInfo(kind="demo", description="demo", width=64, height=48, fps=30.0, live=False)
    found = expectations(_NeverRun(), info, compiled=True)
    assert found.speed is None and found.lines == (COMPILE_LINE,)


# -- on a GPU ---------------------------------------------------------------------------------------
@pytest.mark.gpu
def test_cuda_graphs_channels_last_fp16_run_on_cuda() -> None:
    proc = run(["--camera", "demo", "--headless", "--frames", "20", "--device", "cuda", "--precision", "fp16",
                "--channels-last", "--cuda-graphs"])  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(fp16, channels-last, CUDA graphs)" in proc.stderr
    assert "OpsGuardWarning" not in proc.stderr, proc.stderr  # the S-Conv backend passed its check


@pytest.mark.gpu
def test_cuda_graph_labels_match_eager() -> None:
    frame = synthetic_frame(240, 320, seed=5)
    eager = load_segmenter(LiveOptions(device="cuda"))
    graphs = load_segmenter(LiveOptions(device="cuda", cuda_graphs=True, channels_last=True))
    for _ in range(2):  # capture, then replay
        got = graphs.segment(frame).labels
    assert np.mean(got == eager.segment(frame).labels) >= 0.999
