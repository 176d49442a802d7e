"""`sgnet train` and `sgnet eval` check every option and output before the first step: one
line, exit 2, nothing started; `eval --split` is checked and never falls back to all images;
an unreadable image is named."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pytest
from cli_runner import run_cli
from test_train_loop import config, write_dataset
from test_weights_sniff import AS_ROOT, assert_one_line

import sgnet
import sgnet.data.nyudv2
import sgnet.evaluate
from sgnet.data import open_dataset
from sgnet.train import train


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("nyu"))  # 8 samples: train.txt 6, test.txt 2


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return sgnet.save_weights(sgnet.create_model("sgnet_lite"), tmp_path_factory.mktemp("w") / "lite.safetensors")


def _train(data, out, *extra):
    return run_cli(["train", "--data", str(data), "--out", str(out), "--device", "cpu", "--iters", "1",
                    "--workers", "0", *map(str, extra)])


BAD_TRAIN_OPTIONS = [
    *[([option, value], f"{option} must be at least 1") for option, value in
      (("--batch-size", 0), ("--batch-size", -1), ("--log-every", 0))],
    *[([option, -1], f"{option} must be 0 or more") for option in
      ("--workers", "--warmup", "--weight-decay", "--val-every", "--ckpt-every", "--aux-weight", "--seed")],
    *[(["--lr", value], "--lr must be a positive learning rate") for value in (-1, 0)],
    (["--val-limit", -1], "--val-limit must be a number of test images"),
    (["--color-jitter", -1], "--color-jitter must be between 0 and 1"),
    (["--sensor-color", 1.5], "--sensor-color must be between 0 and 1"),
    (["--sensor-depth", -0.1], "--sensor-depth must be between 0 and 1"),
    (["--fill-holes", 1.2], "--fill-holes must be between 0 and 1"),
    (["--device", "gpu"], "--device must be auto, cpu or cuda"),
    (["--model", "nope"], "unknown model 'nope'"),
]


@pytest.mark.parametrize("extra, message", BAD_TRAIN_OPTIONS, ids=[" ".join(map(str, e)) for e, _ in BAD_TRAIN_OPTIONS])
def test_bad_train_option_is_one_line_before_anything_starts(data, tmp_path, capsys, extra, message):
    out = tmp_path / "run"
    assert_one_line(capsys, _train(data, out, *extra), message)
    assert not out.exists(), "the run started before the options were checked"


def test_out_that_is_a_file(data, tmp_path, capsys):
    out = tmp_path / "run"
    out.write_text("not a folder")
    assert_one_line(capsys, _train(data, out), f"--out {out} exists and is not a folder")
    with pytest.raises(sgnet.SGNetUserError, match="cannot write to --out"):  # the library, without the CLI
        train(config(data, out))


def test_unwritable_out(data, tmp_path, capsys, monkeypatch):
    parent = tmp_path / "locked"
    parent.mkdir()
    if AS_ROOT:  # root writes anywhere: deny as chmod would for anyone else
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: os.fspath(p) != str(parent) and real(p, mode, **kw))
    else:
        parent.chmod(0o555)
    out = parent / "run"
    assert_one_line(capsys, _train(data, out), f"cannot write --out {out}: permission denied")
    assert not out.exists()


def test_resume_from_a_damaged_checkpoint(data, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.pt").write_text("oops\n")
    assert_one_line(capsys, _train(data, out, "--resume"), "last.pt is a text file, not a weights file")


def test_resume_from_a_file_that_is_not_a_train_checkpoint(data, tmp_path, capsys):
    import torch

    out = tmp_path / "run"
    out.mkdir()
    torch.save({"model": sgnet.create_model("sgnet_lite").state_dict()}, out / "last.pt")  # weights, no optimizer
    assert_one_line(capsys, _train(data, out, "--batch-size", 2, "--resume"), "is not a sgnet train checkpoint")


def test_resume_from_another_runs_checkpoint(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(data, out, "--model", "sgnet_lite", "--batch-size", 2) == 0
    capsys.readouterr()
    assert (out / "last.pt").is_file()
    code = _train(data, out, "--model", "sgnet_lite_plain", "--batch-size", 2, "--resume")
    assert_one_line(capsys, code, "was written by another run")


@pytest.mark.parametrize("split", ["nope", "train"])
def test_eval_split_must_exist(data, tmp_path, capsys, split):
    shutil.copytree(data, tmp_path / "d")
    (tmp_path / "d" / "train.txt").unlink()
    argv = ["eval", str(tmp_path / "d"), "-m", "sgnet_lite", "--random-weights", "--device", "cpu", "--split", split]
    code = run_cli(argv)
    assert_one_line(capsys, code, f"no {split}.txt in {tmp_path / 'd'} (splits here: test;")
    with pytest.raises(sgnet.DatasetError, match=f"no {split}.txt"):
        open_dataset(tmp_path / "d", split=split)


def test_eval_without_test_list_never_falls_back_to_all_images(data, tmp_path, capsys):
    shutil.copytree(data, tmp_path / "d")
    (tmp_path / "d" / "test.txt").unlink()
    code = run_cli(["eval", str(tmp_path / "d"), "-m", "sgnet_lite", "--random-weights", "--device", "cpu"])
    assert_one_line(capsys, code, f"no test.txt in {tmp_path / 'd'} (splits here: train;")
    (tmp_path / "d" / "train.txt").unlink()  # an unsplit folder: still only on request
    code = run_cli(["eval", str(tmp_path / "d"), "-m", "sgnet_lite", "--random-weights", "--device", "cpu"])
    assert_one_line(capsys, code, "no test.txt", "no split lists here", "'all' is every image")
    assert len(open_dataset(tmp_path / "d", split="all")) == 8  # what the README's --split all reads


def _no_evaluation(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the evaluation ran before the outputs were checked")

    monkeypatch.setattr(sgnet.evaluate, "evaluate", boom)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc, where no file can be created")
def test_unwritable_json_fails_before_the_evaluation(data, weights, capsys, monkeypatch):
    _no_evaluation(monkeypatch)
    code = run_cli(["eval", str(data), "-m", "sgnet_lite", "-w", str(weights), "--device", "cpu",
                    "--json", "/proc/sgnet-results.json"])
    assert_one_line(capsys, code, "cannot write --json /proc/sgnet-results.json")


@pytest.mark.skipif(AS_ROOT, reason="root writes anywhere")
def test_json_in_a_read_only_folder_fails_before_the_evaluation(data, weights, tmp_path, capsys, monkeypatch):
    _no_evaluation(monkeypatch)
    (tmp_path / "ro").mkdir(mode=0o555)
    code = run_cli(["eval", str(data), "-m", "sgnet_lite", "-w", str(weights), "--device", "cpu",
                    "--json", str(tmp_path / "ro" / "r.json")])
    assert_one_line(capsys, code, "cannot write --json", "permission denied")


def test_save_pred_that_is_a_file_fails_before_the_evaluation(data, weights, tmp_path, capsys, monkeypatch):
    _no_evaluation(monkeypatch)
    (tmp_path / "preds").write_text("")
    code = run_cli(["eval", str(data), "-m", "sgnet_lite", "-w", str(weights), "--device", "cpu",
                    "--save-pred", str(tmp_path / "preds")])
    assert_one_line(capsys, code, "--save-pred folder", "is not a folder")


def _copy_with_unreadable_image(data, tmp_path, monkeypatch, when: str):
    """A copy of `data` whose first test image cannot be read: really (chmod, when not root) or as
    root would see it, either at the check before the evaluation ("open") or only when the
    evaluation reads it ("read": changed after the check, which only a simulation can time)."""
    root = shutil.copytree(data, tmp_path / "d")
    image = root / "RGB" / "006.png"
    if when == "open" and not AS_ROOT:
        image.chmod(0)
    elif when == "open":
        real_access = os.access
        monkeypatch.setattr(sgnet.data.nyudv2.os, "access", lambda p, m: p != image and real_access(p, m))
    else:
        real_fromfile = np.fromfile

        def fromfile(file, *args, **kwargs):
            if os.fspath(file) == str(image):
                raise PermissionError(13, "Permission denied", os.fspath(file))
            return real_fromfile(file, *args, **kwargs)

        monkeypatch.setattr(sgnet.data.nyudv2.np, "fromfile", fromfile)
    return root, image


@pytest.mark.parametrize("when", ["open", "read"])
def test_unreadable_image_is_one_line_naming_it(data, weights, tmp_path, capsys, monkeypatch, when):
    root, image = _copy_with_unreadable_image(data, tmp_path, monkeypatch, when)
    code = run_cli(["eval", str(root), "-m", "sgnet_lite", "-w", str(weights), "--device", "cpu"])
    assert_one_line(capsys, code, f"cannot read {image}: permission denied")
    if when == "read":
        with pytest.raises(sgnet.DatasetError, match=f"^cannot read {image}: permission denied"):
            open_dataset(root)[0]


def test_unreadable_training_data_is_one_line_before_anything_is_written(data, tmp_path, capsys, monkeypatch):
    root, image = _copy_with_unreadable_image(data, tmp_path, monkeypatch, "open")
    out = tmp_path / "run"
    assert_one_line(capsys, _train(root, out, "--crop", "32x40", "--batch-size", 2),
                    f"cannot read {image}: permission denied")
    assert not out.exists()
