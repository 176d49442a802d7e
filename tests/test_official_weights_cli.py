"""The released SGNet files work from the file alone (issue 20): `sgnet-live --weights FILE`
without `--model` builds the model the file is for and says which in one line; a mismatched
`--model` names the model the file fits; a file that fits no model says so. Likewise
`sgnet convert-weights` and `sgnet bench model --weights`.

The checkpoints have the official layout (every key and shape of the released SGNet, SGNet_ASPP
and SGNet_Res50, `module.` prefixes, InPlace-ABN norms, {epoch, iteration, state_dict}, saved
with torch.save) and random values: built once per module by `test_sgnet_weights.save_official`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cli_runner import run_cli
from test_sgnet_weights import OFFICIAL, fake_state_dict, save_official

ROOT = Path(__file__).resolve().parents[1]
LIVE = [sys.executable, "-c", "from app.cli_live import main; main()"]
SMALL = ["--camera", "demo", "--headless", "--frames", "1", "--width", "80", "--height", "64", "--device", "cpu"]
TITLE = {name: f"official {official} ({name})" for name, official in OFFICIAL.items()}
# a file of each model given to another one
WRONG = {"sgnet_r101": "sgnet_r50", "sgnet_r101_aspp": "sgnet_r101", "sgnet_r50": "sgnet_r101_aspp"}


@pytest.fixture(scope="module")
def official_files(tmp_path_factory) -> dict[str, Path]:
    """One official-format checkpoint per released network, named as the authors name them."""
    out = {}
    for name, network in OFFICIAL.items():
        out[name], _ = save_official(tmp_path_factory.mktemp(name), network)
    return out


@pytest.fixture(scope="module")
def no_model_file(tmp_path_factory) -> Path:
    """The SGNet_Res50 layout with its last layer4 block cut out: an SGNet-like file no model fits."""
    sd = {k: v for k, v in fake_state_dict("SGNet_Res50").items() if not k.startswith("module.layer4.2.")}
    path = tmp_path_factory.mktemp("nofit") / "SGNet_cut.pth.tar"
    torch.save({"epoch": 1, "iteration": 2, "state_dict": sd}, path)
    return path


def live(*args) -> subprocess.CompletedProcess:
    return subprocess.run(LIVE + [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def live_error(capsys, *args) -> str:
    """The one line `sgnet-live` ends with, run in-process (a mistake ends before any thread starts)."""
    from app.cli_live import main

    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(lines) == 1, lines
    return lines[0]


# -- sgnet-live ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(OFFICIAL))
def test_sgnet_live_runs_an_official_file_without_model(name, official_files):
    path = official_files[name]
    r = live(*SMALL, "--weights", path)
    assert r.returncode == 0, r.stderr
    assert f"model: {name} on cpu (fp32), weights {path.name}: {TITLE[name]}, NYUv2-40 (40 classes)" in r.stderr
    assert "frames 1 · segmented 1 · bad 0" in r.stdout


@pytest.mark.parametrize("name", list(OFFICIAL))
def test_sgnet_live_mismatched_model_names_the_right_one(name, official_files, capsys):
    line = live_error(capsys, *SMALL, "--weights", official_files[name], "--model", WRONG[name])
    assert f"does not fit model {WRONG[name]}" in line
    assert f"these weights fit {TITLE[name]}" in line


def test_sgnet_live_file_that_fits_no_model(no_model_file, capsys):
    line = live_error(capsys, *SMALL, "--weights", no_model_file)
    assert f"{no_model_file} fits none of the registered models" in line
    line = live_error(capsys, *SMALL, "--weights", no_model_file, "--model", "sgnet_r50")
    assert "does not fit model sgnet_r50" in line and "the file fits none of the registered models" in line


# -- sgnet convert-weights ----------------------------------------------------------------------
def test_convert_weights_identifies_and_names_the_right_model(official_files, no_model_file, tmp_path, capsys):
    path = official_files["sgnet_r50"]
    assert run_cli(["convert-weights", str(path), str(tmp_path / "r50.safetensors")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"weights {path.name}: {TITLE['sgnet_r50']}, NYUv2-40 (40 classes)"
    assert out[1].startswith(f"wrote {tmp_path / 'r50.safetensors'}: sgnet_r50")
    assert run_cli(["convert-weights", str(path), str(tmp_path / "x.safetensors"), "--model", "sgnet_r101"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not fit model sgnet_r101" in err[0]
    assert f"these weights fit {TITLE['sgnet_r50']}: use that model (--model sgnet_r50)" in err[0]
    assert run_cli(["convert-weights", str(no_model_file), str(tmp_path / "y.safetensors")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fits none of the registered models" in err[0]
    assert not (tmp_path / "x.safetensors").exists() and not (tmp_path / "y.safetensors").exists()


# -- sgnet bench model --------------------------------------------------------------------------
BENCH = ["bench", "model", "--no-paper-sizes", "--size", "32x40", "--device", "cpu", "--warmup", "0", "--iters", "1",
         "--seg-iters", "1"]


def test_bench_model_takes_the_model_from_the_weights(official_files, tmp_path, capsys):
    path = official_files["sgnet_r50"]
    out = tmp_path / "b.json"
    assert run_cli([*BENCH, "--weights", str(path), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"weights {path.name}: {TITLE['sgnet_r50']}, NYUv2-40 (40 classes)" in printed
    data = json.loads(out.read_text())
    assert data["weights"] == str(path)
    assert [(r["model"], r["weights"]) for r in data["results"]] == [("sgnet_r50", str(path))]


def test_bench_model_without_weights_says_random_and_mismatch_names_the_model(official_files, capsys):
    assert run_cli([*BENCH, "-m", "sgnet_lite"]) == 0
    assert "sgnet_lite: random weights (speed only; labels are not measured)" in capsys.readouterr().out
    assert run_cli([*BENCH, "-m", "sgnet_r101", "--weights", str(official_files["sgnet_r50"])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not fit model sgnet_r101" in err[0] and TITLE["sgnet_r50"] in err[0]
    assert run_cli([*BENCH, "-m", "all", "--weights", str(official_files["sgnet_r50"])]) == 2
    assert "drop -m all" in capsys.readouterr().err
