"""scripts/gpu-check.sh on a machine without a GPU: valid bash, one line without CUDA, and the closing
table read from the JSON the steps write (the full --dry-run takes a minute: run it by hand)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu-check.sh"
sys.path.insert(0, str(ROOT / "scripts"))
import gpu_check  # noqa: E402


def test_the_script_is_valid_bash() -> None:
    proc = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_help_says_what_torch_it_needs() -> None:
    proc = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0
    assert "CUDA build of PyTorch" in proc.stdout and "--dry-run" in proc.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="the message for a machine without CUDA")
def test_without_cuda_it_stops_with_one_line() -> None:
    proc = subprocess.run(["bash", str(SCRIPT), "--python", sys.executable], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert "sees no CUDA GPU: install a CUDA build of torch" in line and "--dry-run" in line


def test_an_unknown_option_is_one_line() -> None:
    proc = subprocess.run(["bash", str(SCRIPT), "--fast"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.strip() == "gpu-check: unknown option --fast (see --help)"


def test_the_table_reads_each_kind_of_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    guard = tmp_path / "guard.json"
    guard.write_text(json.dumps({"rows": [
        {"backend": "torch", "dtype": "float16", "ok": True, "worst": 1e-3, "tolerance": 1e-2},
        {"backend": "triton", "dtype": "float16", "ok": False, "worst": 0.3, "tolerance": 1e-2},
    ]}))  # fmt: skip
    model = tmp_path / "model.json"
    model.write_text(json.dumps({"compile": False, "results": [
        {"model": "sgnet_r101", "forward": {"median_ms": 9.5}, "segmenter": {"total": {"median_ms": 14.0, "fps": 71.4}}}
    ]}))  # fmt: skip
    engines = tmp_path / "engines.json"
    engines.write_text(json.dumps({"compile": False, "results": [{"model": "sgnet_r101", "engines": {
        "torch": {"forward": {"median_ms": 8.0}, "ratio_to_first": 1.0},
        "tensorrt:fp16": {"forward": {"median_ms": 2.0}, "ratio_to_first": 0.25},
    }}]}))  # fmt: skip
    log = tmp_path / "tests.log"
    log.write_text("....\n12 passed, 1 skipped in 30.1s\n")
    steps = tmp_path / "steps.tsv"
    steps.write_text(
        f"sconv-guard\tFAIL(1)\t12\t{guard}\t\tsee log\n"
        f"model-fp32-eager\tok\t30\t{model}\t\tsee log\n"
        f"model-fp16-tensorrt\tok\t90\t{engines}\t\tsee log\n"
        f"gpu-tests\tok\t40\t\t{log}\tsee log\n"
        "model-tensorrt\tSKIP\t0\t\t\ttensorrt is not installed\n"
    )
    assert gpu_check.summary(steps) == 1  # a failed step fails the run
    out = capsys.readouterr().out
    assert "1/2 pass; worst error / tolerance: torch 0.10; FAILED: triton float16" in out
    assert "sgnet_r101 eager: fwd 9.50 ms, frame 14.00 ms (71 FPS)" in out
    assert "sgnet_r101 eager: fwd 8.00 ms (x1.00); sgnet_r101 tensorrt:fp16: fwd 2.00 ms (x0.25)" in out
    assert "12 passed, 1 skipped in 30.1s" in out and "tensorrt is not installed" in out
