"""`sgnet distill`: the teacher's sure pixels become NYUDv2-format labels (reused on --resume, refused
when made otherwise), the student trains on them alone or under torchrun, and mistakes are one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from cli_runner import run_cli
from test_app_cli import ROOT, TOOLS, run

import sgnet
from app.distill.pseudo import pseudo_label
from app.sources.demo import DemoSource
from sgnet.data import open_dataset
from sgnet.frames import NO_PREDICTION, Intrinsics, RGBDFrame, Segmentation
from sgnet.loading import bundled_weights

SMALL_TRAIN = ["--iters", 2, "--batch-size", 2, "--workers", 0, "--crop", "32x40", "--device", "cpu"]


def test_only_sure_pixels_become_labels_one_based():
    k = Intrinsics(3, 2, 2.0, 2.0, 1.0, 0.5)
    frame = RGBDFrame(np.zeros((2, 3, 3), np.uint8), np.ones((2, 3), np.uint16), 0.001, k, 0)
    labels = np.array([[0, 5, 39], [NO_PREDICTION, 7, 2]], np.uint8)
    conf = np.array([[0.9, 0.69, 0.7], [0.0, 1.0, 0.2]], np.float32)
    got = pseudo_label(Segmentation(frame, labels, confidence=conf), 0.7)
    np.testing.assert_array_equal(got, [[1, 0, 40], [0, 8, 0]])  # 0 = not sure / no prediction: ignored


def distill(out, *extra, timeout=400):
    return run(TOOLS, ["distill", "--teacher", "sgnet_lite", "--data", "demo", "--every", 20, "--max-frames", 5,
                       "--test-every", 3, "--out", out, *SMALL_TRAIN, *extra], timeout=timeout)


def test_pseudo_labels_train_a_student_and_are_reused_on_resume(tmp_path):
    out = tmp_path / "run"
    r = distill(out)
    assert r.returncode == 0, r.stderr
    assert "pseudo-labels: 5 frames from 1 source(s)" in r.stderr and "distilled sgnet_lite into sgnet_lite" in r.stdout
    folder = out / "pseudo" / "00_demo"
    assert (folder / "train.txt").read_text().split() == ["000000", "000020", "000060", "000080"]
    assert (folder / "test.txt").read_text().split() == ["000040"]  # every 3rd kept frame is held out
    # the labels are the teacher's, where it is sure: the same model on the same demo frames
    teacher, src = sgnet.Segmenter("sgnet_lite", device="cpu"), DemoSource()
    seg = teacher.segment(src.frame(40))
    expected = np.where(seg.confidence >= 0.7, seg.labels.astype(int) + 1, 0)
    stored = cv2.imread(str(folder / "Label" / "000040.png"), cv2.IMREAD_UNCHANGED)
    assert (stored == expected).mean() > 0.999 and 0 < (stored == 0).mean() < 0.6
    data = open_dataset(str(folder), split="train", need_labels=True)
    assert len(data) == 4 and data[0].frame.intrinsics == src.frame(0).intrinsics
    meta = json.loads((out / "pseudo" / "meta.json").read_text())
    assert meta["frames"] == 5 and meta["teacher"] == "sgnet_lite" and 0.4 < meta["kept_share"] < 1
    assert (out / "model.safetensors").is_file() and not (out / ".pseudo.partial").exists()
    # --resume: the same pseudo-labels, training continues
    r = distill(out, "--resume", "--iters", 3)
    assert r.returncode == 0, r.stderr
    assert f"reusing {out / 'pseudo'}" in r.stderr and "3 iterations" in r.stdout
    # other settings would mix two teachers' labels: refused in one line
    r = distill(out, "--min-confidence", "0.5")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "was made by another teacher or other settings" in r.stderr


def test_fill_holes_in_paints_what_the_teacher_labels_and_the_student_trains_on(tmp_path):
    import dataclasses

    from sgnet.depth_holes import fill_holes

    out = tmp_path / "filled"
    r = distill(out, "--fill-holes", "--max-frames", 2)
    assert r.returncode == 0, r.stderr
    folder = out / "pseudo" / "00_demo"
    src, teacher = DemoSource(), sgnet.Segmenter("sgnet_lite", device="cpu")
    raw = src.frame(20)
    assert (raw.depth == 0).any()  # the demo clip has holes to fill
    stored_depth = cv2.imread(str(folder / "Depth" / "000020.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(stored_depth, fill_holes(raw.depth))
    seg = teacher.segment(dataclasses.replace(raw, depth=fill_holes(raw.depth)))
    expected = np.where(seg.confidence >= 0.7, seg.labels.astype(int) + 1, 0)
    stored = cv2.imread(str(folder / "Label" / "000020.png"), cv2.IMREAD_UNCHANGED)
    assert (stored == expected).mean() > 0.999
    assert json.loads((out / "pseudo" / "meta.json").read_text())["config"]["fill_holes"] is True
    # pseudo-labels of a version that did not record the setting were made without it: reused
    plain = tmp_path / "plain"
    assert distill(plain, "--max-frames", 2).returncode == 0
    meta_path = plain / "pseudo" / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["fill_holes"]
    meta_path.write_text(json.dumps(meta))
    r = distill(plain, "--max-frames", 2, "--resume", "--iters", 3)
    assert r.returncode == 0 and f"reusing {plain / 'pseudo'}" in r.stderr, r.stderr
    r = distill(plain, "--max-frames", 2, "--fill-holes")
    assert r.returncode == 2 and "other settings" in r.stderr


def test_a_retrained_teacher_at_the_same_path_does_not_reuse_the_old_labels(tmp_path):
    from safetensors.torch import load_file, save_file

    from sgnet.engines.cache import file_sha

    weights, out = tmp_path / "teacher.safetensors", tmp_path / "run"
    shutil.copy(bundled_weights("sgnet_lite"), weights)
    args = ["distill", "--teacher", f"sgnet_lite:{weights}", "--data", "demo", "--every", 20, "--max-frames", 2,
            "--test-every", 0, "--out", out, *SMALL_TRAIN]
    r = run(TOOLS, args, timeout=400)
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "pseudo" / "meta.json").read_text())
    assert meta["teacher_sha"] == file_sha(weights) and meta["version"] == 2
    tensors = load_file(weights)  # the teacher trained on: same file name, other weights
    name = next(iter(tensors))
    tensors[name] = tensors[name] + 1
    save_file(tensors, weights, metadata=safe_open_metadata(bundled_weights("sgnet_lite")))
    r = run(TOOLS, [*args, "--resume"], timeout=400)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "was made by other weights of sgnet_lite" in r.stderr and file_sha(weights) in r.stderr
    meta["version"] = 1  # labels of a version that did not record the weights: never reused blindly
    (out / "pseudo" / "meta.json").write_text(json.dumps(meta))
    r = run(TOOLS, [*args, "--resume"], timeout=400)
    assert r.returncode == 2 and "earlier sgnet-live that did not record the teacher's weights" in r.stderr


def safe_open_metadata(path):
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return f.metadata()


def test_a_student_in_another_class_set_and_the_folder_that_names_it(tmp_path):
    out = tmp_path / "run13"
    shipped = bundled_weights("sgnet_lite")
    r = distill(out, "--classes", "nyu13", "--max-frames", 2, "--test-every", 0, "--student-weights", shipped,
                "--head-first", 1)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "config.json").read_text())["head_first"] == 1  # the new 13-class head first
    folder = out / "pseudo" / "00_demo"
    assert json.loads((folder / "classes.json").read_text())["key"] == "nyu13"
    data = open_dataset(str(folder), split="train", need_labels=True)
    assert data.label_classes == str(folder / "classes.json") and len(data) == 2
    lab = data[0].label
    assert (lab[lab != NO_PREDICTION] < 13).all() and (lab != NO_PREDICTION).any()
    student = sgnet.Segmenter(None, out / "model.safetensors", device="cpu")
    assert student.classes.key == "nyu13" and student.num_classes == 13


def test_soft_targets_train_with_the_teacher_beside_the_student(tmp_path):
    out = tmp_path / "soft"
    r = distill(out, "--soft", "0.5", "--temperature", "2", "--max-frames", 2, "--test-every", 0)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["soft_weight"] == 0.5 and cfg["temperature"] == 2 and cfg["teacher_model"] == "sgnet_lite"
    hard = tmp_path / "hard"
    shutil.copytree(out / "pseudo", hard / "pseudo")  # the same pseudo-labels, reused
    r = distill(hard, "--max-frames", 2, "--test-every", 0)
    assert r.returncode == 0, r.stderr
    loss = [(d / "train.csv").read_text().splitlines()[-1].split(",")[2] for d in (out, hard)]
    assert loss[0] != loss[1]  # the same batches, another loss: the teacher took part


@pytest.mark.parametrize(("args", "message"), [
    (["--teacher", "no_such_model", "--data", "demo"], "is neither a model"),
    (["--teacher", "sgnet_lite:missing.safetensors", "--data", "demo"], "teacher weights not found"),
    (["--teacher", "sgnet_lite", "--data", "demo", "--min-confidence", "1.5"], "--min-confidence must be"),
    (["--teacher", "sgnet_lite", "--data", "demo", "--lr", "-1"], "--lr must be"),
    (["--teacher", "sgnet_lite", "--data", "demo", "--soft", "1.5"], "--soft must be between 0 and 1"),
    (["--teacher", "sgnet_lite", "--data", "demo", "--temperature", "0"], "--temperature must be positive"),
    (["--teacher", "sgnet_lite", "--data", "nowhere.db3"], "nowhere.db3"),
    (["--teacher", "sgnet_lite", "--data", "demo", "--head-first", "5"], "--student-weights"),
    (["--teacher", "sgnet_lite", "--data", "demo", "--classes", "nyu40", "--head-first", "5", "--student-weights",
      str(bundled_weights("sgnet_lite"))], "no new layer to train first"),
])
def test_mistakes_are_one_line(tmp_path, capsys, args, message):
    code = run_cli(["distill", *args, "--out", str(tmp_path / "o"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) <= 2 and message in lines[-1], err  # (the teacher line may come first)


def test_soft_targets_from_an_exported_teacher_are_refused_before_the_labelling(tmp_path, capsys):
    exported = tmp_path / "teacher.onnx"
    exported.write_bytes(b"not read")
    code = run_cli(["distill", "--teacher", str(exported), "--data", "demo", "--soft", "1", "--out",
                    str(tmp_path / "o"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "exported network" in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None, reason="torchrun missing")
def test_torchrun_two_processes_share_the_labelling_and_train(tmp_path):
    out = tmp_path / "ddp"
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    cmd = [torchrun, "--nproc-per-node", "2", "--master-port", str(29500 + (os.getpid() + 7) % 1000), "-m",
           "app.cli_tools", "distill", "--teacher", "sgnet_lite", "--data", "demo", "--every", 25, "--max-frames",
           4, "--test-every", 0, "--out", out, *SMALL_TRAIN]
    res = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True, timeout=400,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    folder = out / "pseudo" / "00_demo"
    assert sorted(p.name for p in (folder / "Label").iterdir()) == ["000000.png", "000025.png", "000050.png",
                                                                     "000075.png"]  # both ranks' shares
    assert json.loads((out / "pseudo" / "meta.json").read_text())["frames"] == 4
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["iterations"] == 2


@pytest.mark.parametrize("config", [[1], "fill", None])
def test_a_damaged_settings_record_is_one_clear_error(tmp_path, config):
    """meta.json whose settings are not an object: a UserError naming the file, not a traceback."""
    from app.distill.pseudo import META, PSEUDO, VERSION, PseudoConfig, existing
    from app.errors import UserError

    (tmp_path / PSEUDO).mkdir()
    meta = {"version": VERSION, "teacher": "t", "teacher_sha": "s", "classes": "nyu40", "config": config,
            "sources": [], "seconds": 1.0}
    (tmp_path / PSEUDO / META).write_text(json.dumps(meta))
    with pytest.raises(UserError, match="meta.json cannot be read"):
        existing(tmp_path, "t", "s", PseudoConfig(("demo",)))
