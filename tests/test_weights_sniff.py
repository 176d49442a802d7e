"""Weights files that are not weights: each is told apart by its bytes before anything parses it,
and every command that reads `--weights` (sgnet-live, eval, convert-weights, train) says so in
one line, exit 2, without a traceback or a torch warning."""

from __future__ import annotations

import os
import pickle
import warnings

import pytest
import torch
from cli_runner import run_cli
from safetensors.torch import save_file
from test_app_cli import LIVE, SMALL, _assert_one_line_error, run
from test_sgnet_weights import _Evil
from test_train_loop import write_dataset

import sgnet
import sgnet.weights
import sgnet.weights_sniff
from sgnet.weights import read_checkpoint, sniff_weights

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _text(path):
    path.write_text("epochs: 10\nlr: 0.01\nthese are my notes, not weights\n")


def _random(path):
    path.write_bytes(os.urandom(4096))


def _truncated_zip(path):
    torch.save({"w": torch.arange(64.0)}, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _truncated_safetensors(path):
    save_file({"w": torch.arange(64.0)}, str(path))
    path.write_bytes(path.read_bytes()[:-40])


# file name, how to make it, what the line must say (all are WeightsFileErrors)
BAD_FILES = {
    "text": ("notes.txt", _text, "notes.txt is a text file, not a weights file (expected .pth/.pth.tar/.safetensors)"),
    "random bytes": ("x.pth", _random, "x.pth is not a weights file (unrecognised content: neither a PyTorch "
                                       "checkpoint nor safetensors)"),
    "truncated zip": ("cut.pth", _truncated_zip, "cut.pth is truncated or damaged (PyTorch zip checkpoint"),
    "truncated safetensors": ("cut.safetensors", _truncated_safetensors,
                              "cut.safetensors is truncated or damaged (safetensors"),
}


def _bad(tmp_path, kind):
    name, make, message = BAD_FILES[kind]
    path = tmp_path / name
    make(path)
    return path, message


def assert_one_line(capsys, code: int, *needles: str) -> str:
    """Exit 2 and exactly one `sgnet: error:` line on stderr holding every needle (besides it only
    the line `sgnet eval` starts with, naming the weights it evaluates)."""
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2, lines
    err = [ln for ln in lines if not ln.startswith("eval: weights ")]
    assert len(err) == 1 and err[0].startswith("sgnet: error: "), lines
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


def _no_torch_warnings(recwarn):
    assert not [w for w in recwarn if "torch" in w.filename], [str(w.message) for w in recwarn]


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_files_say_what_they_are(tmp_path, kind):
    path, message = _bad(tmp_path, kind)
    with pytest.raises(sgnet.WeightsFileError) as err:
        read_checkpoint(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(sgnet.WeightsFileError):  # the cheap check `sgnet train` runs first says the same
        sniff_weights(path)


def test_the_format_comes_from_the_content_not_the_name(tmp_path):
    """A real checkpoint under a .safetensors name still loads (torch.load would go by the name)."""
    model = sgnet.create_model("sgnet_lite")
    path = tmp_path / "really_a_zip.safetensors"
    torch.save(model.state_dict(), path)
    assert sniff_weights(path) == "zip"
    assert sgnet.load_weights(sgnet.create_model("sgnet_lite"), path).source == "state_dict"


def test_plain_pickle_that_would_run_code_is_refused_without_torch_warnings(tmp_path, recwarn):
    """pickle.dump's protocol makes torch warn before it refuses; the refusal says it all."""
    marker, path = tmp_path / "pwned", tmp_path / "evil.pth"
    evil = _Evil()
    evil.marker = marker
    path.write_bytes(pickle.dumps({"state_dict": {"w": torch.zeros(1)}, "x": evil}))
    warnings.simplefilter("always")
    with pytest.raises(sgnet.UnsafeCheckpointError, match=r"refusing to load .*would run code \(posix\.system"):
        read_checkpoint(path)
    _no_torch_warnings(recwarn)
    assert not marker.exists()


@pytest.mark.skipif(AS_ROOT, reason="root reads files whatever their permissions")
def test_unreadable_file_is_one_line(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    path.chmod(0)
    with pytest.raises(sgnet.WeightsFileError, match=f"^cannot read {path}: permission denied"):
        read_checkpoint(path)


def _deny(monkeypatch, path):
    """Make `path` unreadable to sgnet.weights (and its sniffer), as chmod 000 does for anyone but root."""
    real = open

    def fake_open(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(sgnet.weights, "open", fake_open, raising=False)
    monkeypatch.setattr(sgnet.weights_sniff, "open", fake_open, raising=False)


def test_unreadable_file_simulated(tmp_path, monkeypatch, capsys):
    path = tmp_path / "w.pth"
    torch.save({"w": torch.zeros(3)}, path)
    _deny(monkeypatch, path)
    with pytest.raises(sgnet.WeightsFileError, match=f"^cannot read {path}: permission denied"):
        read_checkpoint(path)
    code = run_cli(["convert-weights", str(path), str(tmp_path / "o.safetensors")])
    assert_one_line(capsys, code, f"cannot read {path}: permission denied")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("nyu"))


def _commands(path, tmp_path, data):
    """Every `sgnet` command that reads a weights file, reading `path`."""
    return {
        "eval": ["eval", str(data), "-m", "sgnet_lite", "--device", "cpu", "-w", str(path)],
        "convert-weights": ["convert-weights", str(path), str(tmp_path / "o.safetensors")],
        "train": ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--device", "cpu",
                  "--weights", str(path)],
    }


@pytest.mark.parametrize("command", ["eval", "convert-weights", "train"])
@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_every_command_says_it_in_one_line(tmp_path, tiny_data, capsys, recwarn, kind, command):
    path, message = _bad(tmp_path, kind)
    warnings.simplefilter("always")
    code = run_cli(_commands(path, tmp_path, tiny_data)[command])
    assert_one_line(capsys, code, message)
    _no_torch_warnings(recwarn)
    assert not (tmp_path / "run").exists(), "train started before checking --weights"
    assert not (tmp_path / "o.safetensors").exists()


@pytest.mark.parametrize("kind", ["text", "evil pickle"])
def test_sgnet_live_prints_the_line(tmp_path, kind):
    """The real console script: one stderr line, no traceback, no torch warning lines."""
    if kind == "text":
        path, message = _bad(tmp_path, "text")
    else:
        path, message = tmp_path / "evil.pth", "refusing to load"
        evil = _Evil()
        evil.marker = tmp_path / "pwned"
        path.write_bytes(pickle.dumps(evil))
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 1, "--weights", path, *SMALL])
    _assert_one_line_error(r, message)
    assert "Warning" not in r.stderr and not (tmp_path / "pwned").exists()
