"""Runs the Triton kernel tests under Triton's CPU interpreter, in a subprocess.

TRITON_INTERPRET must be set before Triton compiles anything, and it must not leak into the rest of
the suite (on a GPU machine the same kernels also run for real), so the interpreter runs in a child
pytest that sees the variable from its first line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ops import backends

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not backends.triton_importable(), reason="triton is not installed")
def test_triton_kernels_under_the_interpreter() -> None:
    env = {**os.environ, "TRITON_INTERPRET": "1", "SGNET_OPS_BACKEND": "auto", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
        "tests/test_ops_triton_kernels.py",
        "tests/test_ops_semantics.py", "-k", "triton",  # every test of the kernels file, triton cases of this one
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    summary = proc.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "skipped" not in summary and "failed" not in summary, tail
    assert int(summary.split(" passed")[0].split()[-1]) >= 25, summary  # the kernel tests really ran
