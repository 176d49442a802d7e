"""Your own classes end to end: a 13-class model trains from NYU40-labelled data, is saved with its
class set, and is scored by `sgnet eval`; an NYU40 model is scored in NYUv2-13; eval needs weights."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from cli_runner import run_cli
from test_train_loop import config, write_dataset

import sgnet
from assets.classes import get_class_set
from sgnet.train import train
from sgnet.weights import read_checkpoint


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("nyu40"))


@pytest.fixture(scope="module")
def trained13(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run13")
    train(config(dataset, out, classes="nyu13"))
    return out / "model.safetensors"


def test_a_13_class_model_trains_from_nyu40_labels_and_stores_its_set(trained13):
    ckpt = read_checkpoint(trained13)
    assert ckpt.num_classes == 13 and ckpt.classes == get_class_set("nyu13")
    seg = sgnet.Segmenter(None, weights=trained13, device="cpu")
    assert seg.num_classes == 13 and seg.classes.key == "nyu13"


def test_eval_scores_the_13_class_model_in_its_own_set(dataset, trained13, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert run_cli(["eval", str(dataset), "--weights", str(trained13), "--device", "cpu", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["model"] == "sgnet_lite" and res["classes"]["classes"] == list(get_class_set("nyu13").names)
    assert len(res["confusion_matrix"]) == 13
    hist = np.array(res["confusion_matrix"])
    wall, floor = (get_class_set("nyu13").names.index(n) for n in ("wall", "floor"))
    assert hist.sum() == hist[[wall, floor]].sum(), "NYU40 wall/floor labels must land on the 13-set's wall/floor"
    assert "NYUv2-13 (13 classes)" in capsys.readouterr().err


def test_eval_merges_an_nyu40_model_into_13_classes(dataset, tmp_path, capsys):
    out, preds = tmp_path / "r.json", tmp_path / "pred"
    shipped = "assets/sgnet_lite_synth.safetensors"
    argv = ["eval", str(dataset), "-w", shipped, "--classes", "nyu13", "--device", "cpu", "--json", str(out),
            "--save-pred", str(preds)]
    assert run_cli(argv) == 0
    res = json.loads(out.read_text())
    assert res["model_classes"] == "nyu40" and res["classes"]["name"] == "NYUv2-13"
    assert len(res["confusion_matrix"]) == 13
    assert "scored as NYUv2-13 (13 classes) (class probabilities merged)" in capsys.readouterr().err
    png = cv2.imread(str(next(preds.glob("*.png"))))[:, :, ::-1].reshape(-1, 3)
    allowed = {tuple(c) for c in get_class_set("nyu13").colors}
    assert {tuple(int(v) for v in c) for c in np.unique(png, axis=0)} <= allowed


def test_eval_wants_weights_or_an_explicit_random_baseline(dataset, capsys):
    assert run_cli(["eval", str(dataset), "--model", "sgnet_lite", "--device", "cpu"]) == 2
    assert "no --weights given" in capsys.readouterr().err
    assert run_cli(["eval", str(dataset), "--random-weights", "--device", "cpu"]) == 2
    assert "--random-weights needs --model" in capsys.readouterr().err


def test_num_classes_in_model_args_points_to_classes(dataset, tmp_path, capsys):
    argv = ["train", "--data", str(dataset), "--out", str(tmp_path / "o"), "--model-args", '{"num_classes": 13}',
            "--iters", "1", "--device", "cpu"]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--classes nyu13" in err[0]


def test_resume_into_another_class_set_of_the_same_size_is_refused(dataset, tmp_path):
    spec = {"classes": [f"c{i}" for i in range(13)], "map_from": "nyu40", "map": {"wall": "c0", "floor": "c1"}}
    other = tmp_path / "other13.json"
    other.write_text(json.dumps(spec))
    out = tmp_path / "run"
    train(config(dataset, out, classes="nyu13", iters=3))
    with pytest.raises(sgnet.WeightsFileError, match="trained into NYUv2-13 .* this run into other13"):
        train(config(dataset, out, classes=str(other), iters=4, resume=True))


def test_sgnet_live_runs_13_class_weights_without_being_told_the_model(trained13, tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "from app.cli_live import main; main()", "--camera", "demo", "--headless",
           "--frames", "2", "--width", "64", "--height", "48", "--device", "cpu", "--weights", str(trained13)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "sgnet_lite, NYUv2-13 (13 classes)" in r.stderr


def test_eval_scores_13_class_ground_truth_in_13_classes_without_being_told(dataset, tmp_path):
    import shutil

    root = tmp_path / "nyu13"
    shutil.copytree(dataset, root)
    (root / "Label").rename(root / "Label13")
    for png in (root / "Label13").glob("*.png"):
        raw = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(png), np.select([raw == 1, raw == 2], [12, 5], 0).astype(np.uint8))  # 1-based wall, floor
    out = tmp_path / "r.json"
    assert run_cli(["eval", str(root), "-w", "assets/sgnet_lite_synth.safetensors", "--device", "cpu",
                    "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["classes"]["name"] == "NYUv2-13" and res["model_classes"] == "nyu40"
    hist = np.array(res["confusion_matrix"])
    names = get_class_set("nyu13").names
    assert hist.sum() == hist[[names.index("wall"), names.index("floor")]].sum()
