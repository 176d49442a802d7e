"""`sgnet train` really trains: single process with resume, and torchrun/DDP on CPU (gloo)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import sgnet
from sgnet.data import concat_datasets, open_dataset
from sgnet.train import TrainConfig, train
from sgnet.train.class_weights import class_weights, label_histogram
from sgnet.train.distributed import DistContext
from sgnet.train.loop import _check_data, fingerprint, validate

H, W = 32, 40


def write_dataset(root: Path, n: int = 8) -> Path:
    """A tiny NYUDv2-format folder: wall above a floor whose horizon moves per image."""
    for sub in ("RGB", "Depth", "Label"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = []
    for i in range(n):
        horizon = 10 + i % 12
        label = np.full((H, W), 1, np.uint8)  # NYU40 id 1 = wall
        label[horizon:] = 2  # floor
        label[:, :3] = 0  # unlabelled strip
        color = np.where(label[..., None] == 1, 180, 90).astype(np.uint8).repeat(3, axis=2)
        color = np.clip(color + rng.integers(-20, 20, color.shape), 0, 255).astype(np.uint8)
        depth = np.where(label == 1, 3000, 1500).astype(np.uint16)
        name = f"{i:03d}"
        cv2.imwrite(str(root / "RGB" / f"{name}.png"), color)
        cv2.imwrite(str(root / "Depth" / f"{name}.png"), depth)
        cv2.imwrite(str(root / "Label" / f"{name}.png"), label)
        names.append(name)
    (root / "train.txt").write_text("\n".join(names[:6]) + "\n")
    (root / "test.txt").write_text("\n".join(names[6:]) + "\n")
    intr = {"width": W, "height": H, "fx": 30, "fy": 30, "cx": 19.5, "cy": 15.5}
    (root / "intrinsics.json").write_text(json.dumps(intr))
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("nyu"))


def config(data: Path | tuple[str, ...], out: Path, **kw) -> TrainConfig:
    base = dict(data=data if isinstance(data, tuple) else str(data), out=str(out), model="sgnet_lite", iters=6,
                batch_size=2, lr=0.01, warmup=2,
                crop=(H, W), scale_range=(0.75, 1.25), workers=0, log_every=2, ckpt_every=3, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def test_single_process_trains_checkpoints_and_resumes(dataset, tmp_path):
    out = tmp_path / "run"
    s = train(config(dataset, out))
    assert s.iterations == 6 and s.world_size == 1
    assert s.rank_fingerprints[0] != s.initial_fingerprint, "weights did not change"
    assert s.last_miou is not None and 0.0 <= s.last_miou <= 1.0
    for f in ("last.pt", "best.pt", "model.safetensors", "train.csv", "val.csv", "summary.json", "config.json"):
        assert (out / f).is_file(), f
    rows = list(csv.DictReader((out / "train.csv").read_text().splitlines()))
    assert [int(r["iteration"]) for r in rows] == [2, 4, 6]
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    lrs = [float(r["lr"]) for r in rows]
    assert lrs[0] > lrs[-1], "poly schedule must decay"

    # the final weights load strictly into a fresh model, and so does the training checkpoint
    fresh = sgnet.create_model("sgnet_lite")
    sgnet.load_weights(fresh, out / "model.safetensors")
    assert fingerprint(fresh) == s.rank_fingerprints[0]
    # val.csv's mIoU is over the classes the test labels hold (wall, floor), not all 40
    from sgnet.data import open_dataset
    from sgnet.train.distributed import DistContext
    from sgnet.train.loop import validate

    m = validate(fresh, open_dataset(str(dataset), split="test"), DistContext(0, 1, 0, torch.device("cpu")), 40)
    logged = float(list(csv.DictReader((out / "val.csv").read_text().splitlines()))[-1]["miou"])
    assert m.gt_classes == 2 and s.last_miou == pytest.approx(m.miou_gt)
    assert logged == pytest.approx(m.miou_gt, abs=1e-6)  # val.csv holds 6 decimals
    assert m.miou != pytest.approx(m.miou_gt)  # the untrained head also predicts classes the labels lack
    sgnet.load_weights(sgnet.create_model("sgnet_lite"), out / "last.pt")

    # resume continues the iteration count and appends to the log
    s2 = train(config(dataset, out, iters=8, resume=True))
    assert s2.iterations == 8
    rows = list(csv.DictReader((out / "train.csv").read_text().splitlines()))
    assert [int(r["iteration"]) for r in rows] == [2, 4, 6, 8]
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["iteration"] == 8


def test_training_learns_the_tiny_task(dataset, tmp_path):
    s = train(config(dataset, tmp_path / "learn", iters=60, lr=0.02, batch_size=3, scale_range=(1.0, 1.0)))
    assert s.last_miou is not None and s.last_miou > 0.6, f"mIoU {s.last_miou} after 60 steps on wall/floor"


def test_class_weights_follow_the_label_frequencies(dataset):
    counts = label_histogram(open_dataset(dataset, split="train"), 40)
    # wall above the horizon (10..15 of 32 rows), floor below, the 3-column strip ignored
    assert counts[0] + counts[1] == 6 * H * (W - 3) and counts[1] > counts[0] > 0 and counts[2:].sum() == 0
    w = class_weights(counts, "sqrt")
    assert w[0] > w[1] > 0 and torch.all(w[2:] == 0)  # rarer class weighs more, absent classes nothing
    freq = counts / counts.sum()
    assert abs(float((w.double().numpy() * freq).sum()) - 1.0) < 1e-6  # the average pixel keeps weight 1
    assert class_weights(counts, "none") is None
    w_extreme = class_weights(np.array([10**9, 1] + [0] * 38), "sqrt", max_weight=10.0)
    assert float(w_extreme[1]) == 10.0 and float(w_extreme[0]) >= 0.2  # clipped both ways


def test_class_weighted_training_runs_and_records_the_weights(dataset, tmp_path):
    out = tmp_path / "weighted"
    s = train(config(dataset, out, iters=2, class_weighting="sqrt"))
    assert s.iterations == 2
    saved = json.loads((out / "class_weights.json").read_text())
    assert len(saved) == 40 and saved[0] > saved[1] > 0 and saved[2] == 0


def test_bad_options_are_user_errors(dataset, tmp_path):
    with pytest.raises(sgnet.SGNetUserError, match="class-weights must be one of none, sqrt"):
        train(config(dataset, tmp_path / "z", class_weighting="median"))
    with pytest.raises(sgnet.SGNetUserError, match="batch-size"):
        train(config(dataset, tmp_path / "x", batch_size=50))
    with pytest.raises(sgnet.SGNetUserError, match="not found"):
        train(config(tmp_path / "nope", tmp_path / "y"))


def _merged_copy(parts: list[Path], root: Path) -> Path:
    """One folder holding the samples of `parts` in the same order, under prefixed names."""
    for sub in ("RGB", "Depth", "Label"):
        (root / sub).mkdir(parents=True)
    for split in ("train", "test"):
        lines = []
        for k, part in enumerate(parts):
            for name in (part / f"{split}.txt").read_text().split():
                for sub in ("RGB", "Depth", "Label"):
                    shutil.copy(part / sub / f"{name}.png", root / sub / f"p{k}_{name}.png")
                lines.append(f"p{k}_{name}")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    shutil.copy(parts[0] / "intrinsics.json", root / "intrinsics.json")
    return root


def test_concatenated_folders_keep_their_own_intrinsics_and_order(dataset, tmp_path):
    other = write_dataset(tmp_path / "other", n=9)
    (other / "intrinsics.json").write_text(json.dumps({"width": W, "height": H, "fx": 50, "fy": 50,
                                                        "cx": 19.5, "cy": 15.5}))
    a, b = open_dataset(dataset, split="train"), open_dataset(other, split="test")
    both = concat_datasets([a, b])
    assert concat_datasets([a]) is a
    assert len(both) == len(a) + len(b) == 9
    assert both[5].frame.intrinsics.fx == 30 and both[6].frame.intrinsics.fx == 50
    assert both[-1].name == b[len(b) - 1].name == "008"
    np.testing.assert_array_equal(both.read_label(7), b.read_label(1))
    with pytest.raises(IndexError):
        both[9]


def test_folders_with_their_own_copies_of_one_class_set_concatenate(tmp_path):
    """`sgnet distill` writes a classes.json into each source's folder: equal sets are one set (found
    when a distill run over several recordings refused its own pseudo-labels); different ones are refused."""
    from importlib import resources

    from assets.classes import BUILTIN
    from sgnet.errors import DatasetError

    doc = (resources.files("assets") / BUILTIN["nyu13"]).read_text(encoding="utf-8")
    folders = [write_dataset(tmp_path / name, n=4) for name in ("a", "b", "c")]
    for f in folders[:2]:
        (f / "classes.json").write_text(doc)
    a, b = (open_dataset(f, split="train") for f in folders[:2])
    assert a.label_classes != b.label_classes  # two paths ...
    both = concat_datasets([a, b])  # ... one set
    assert both.label_classes == a.label_classes and len(both) == len(a) + len(b)
    with pytest.raises(DatasetError, match="different class sets"):
        concat_datasets([a, open_dataset(folders[2], split="train")])  # NYU40 without a classes.json


def test_several_data_folders_train_exactly_like_one_merged_folder(dataset, tmp_path):
    second = write_dataset(tmp_path / "second", n=10)
    merged = _merged_copy([dataset, second], tmp_path / "merged")
    s_two = train(config((str(dataset), str(second)), tmp_path / "two", iters=3))
    s_merged = train(config(merged, tmp_path / "one", iters=3))
    assert s_two.rank_fingerprints == s_merged.rank_fingerprints
    assert s_two.rank_fingerprints[0] != s_two.initial_fingerprint
    assert s_two.last_miou == pytest.approx(s_merged.last_miou)  # validated on both test splits, as merged
    assert "second" in json.loads((tmp_path / "two" / "config.json").read_text())["data"][1]


def test_val_data_chooses_the_validation_split(dataset, tmp_path):
    other = write_dataset(tmp_path / "other", n=12)
    out = tmp_path / "v"
    s = train(config(dataset, out, iters=2, val_data=(str(other),)))
    model = sgnet.create_model("sgnet_lite", num_classes=40)
    sgnet.load_weights(model, out / "model.safetensors")
    ctx = DistContext(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
    expected = validate(model, open_dataset(other, split="test"), ctx, 40)
    assert s.last_miou == pytest.approx(expected.miou)
    (other / "test.txt").write_text("does_not_exist\n")
    with pytest.raises(sgnet.SGNetUserError, match="missing"):
        train(config(dataset, tmp_path / "w", iters=1, val_data=(str(other),)))
    (other / "test.txt").unlink()  # now listing other/ would mean all of its images, training ones too
    with pytest.raises(sgnet.SGNetUserError, match="has no test.txt"):
        train(config(dataset, tmp_path / "x", iters=1, val_data=(str(other),)))
    train_set, val_set = _check_data(config((str(dataset), str(other)), tmp_path / "y"))
    assert len(train_set) == 6 + 6 and len(val_set) == 2  # by default other/ (no test.txt) is not validated on


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None, reason="torchrun missing")
def test_torchrun_two_processes_end_with_identical_changed_weights(dataset, tmp_path):
    out = tmp_path / "ddp"
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    cmd = [torchrun, "--nproc-per-node", "2", "--master-port", str(29500 + os.getpid() % 1000), "-m",
           "app.cli_tools", "train", "--data", str(dataset), "--out", str(out), "--iters", "4", "--batch-size", "2",
           "--crop", f"{H}x{W}", "--workers", "0", "--device", "cpu", "--log-every", "2", "--warmup", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["iterations"] == 4
    prints = summary["rank_fingerprints"]
    assert len(prints) == 2 and prints[0] == prints[1], "ranks diverged"
    assert prints[0] != summary["initial_fingerprint"], "weights did not change"


def test_sigterm_saves_last_pt_and_says_so(dataset, tmp_path):
    """SIGTERM stops training as Ctrl-C does: last.pt for --resume, and one line (typer would exit silently)."""
    import signal
    import time

    out = tmp_path / "term"
    cmd = [sys.executable, "-m", "app.cli_tools", "train", "--data", str(dataset), "--out", str(out), "--iters",
           "100000", "--batch-size", "2", "--crop", f"{H}x{W}", "--workers", "0", "--device", "cpu", "--log-every",
           "1", "--warmup", "1"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        log, deadline = out / "train.csv", time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline and (
                not log.exists() or len(log.read_text().splitlines()) < 3):
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip().splitlines()[-1] == "sgnet: error: stopped by SIGTERM"
    assert "saved" in stdout and (out / "last.pt").is_file()


def _weights_of(path: Path) -> dict[str, torch.Tensor]:
    model = sgnet.create_model("sgnet_lite")
    sgnet.load_weights(model, str(path))
    return {k: v for k, v in model.state_dict().items() if v.is_floating_point()}


def _start_weights(tmp_path: Path) -> Path:
    start = tmp_path / "start.safetensors"
    torch.manual_seed(0)
    sgnet.save_weights(sgnet.create_model("sgnet_lite"), start)
    return start


def test_ema_weights_are_validated_saved_and_resumed(dataset, tmp_path):
    """With decay 1 the average never moves from the starting weights, through a resume too: so
    model.safetensors must be exactly the start and model_raw.safetensors the trained weights."""
    start = _start_weights(tmp_path)
    out = tmp_path / "ema"
    train(config(dataset, out, iters=3, weights=str(start), ema_decay=1.0))
    s = train(config(dataset, out, iters=6, weights=str(start), ema_decay=1.0, resume=True))
    assert s.iterations == 6
    begin, averaged, raw = (_weights_of(p) for p in (start, out / "model.safetensors", out / "model_raw.safetensors"))
    assert all(torch.equal(begin[k], averaged[k]) for k in begin)
    assert not all(torch.equal(begin[k], raw[k]) for k in begin), "the raw weights did not train"
    rows = list(csv.DictReader((out / "val.csv").read_text().splitlines()))
    assert rows and all(0.0 <= float(r["raw_miou"]) <= 1.0 for r in rows)


def test_ema_lies_between_start_and_raw_weights(dataset, tmp_path):
    """A decay below 1 moves the average off the start, but not all the way to the raw weights."""
    start = _start_weights(tmp_path)
    out = tmp_path / "ema_half"
    train(config(dataset, out, iters=4, weights=str(start), ema_decay=0.5))
    begin, averaged, raw = (_weights_of(p) for p in (start, out / "model.safetensors", out / "model_raw.safetensors"))
    assert not all(torch.equal(begin[k], averaged[k]) for k in begin), "the EMA never moved"
    assert not all(torch.equal(raw[k], averaged[k]) for k in begin), "the EMA equals the raw weights"


def test_ema_added_on_resume_starts_at_the_resumed_weights(dataset, tmp_path):
    """--ema on a run that had none: the average begins at the checkpoint, not at the start."""
    start = _start_weights(tmp_path)
    out = tmp_path / "late_ema"
    train(config(dataset, out, iters=3, weights=str(start)))
    resumed = _weights_of(out / "model.safetensors")
    train(config(dataset, out, iters=5, weights=str(start), ema_decay=1.0, resume=True))
    averaged = _weights_of(out / "model.safetensors")
    assert all(torch.equal(resumed[k], averaged[k]) for k in resumed)


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(str(path)).items() if v.is_floating_point()}


def test_head_first_trains_the_new_head_alone_then_everything(dataset, tmp_path):
    """Fine-tuning 40-class weights into 13 classes: with --head-first N the weights the file gave
    stay bit-identical for N steps (their BatchNorm statistics still follow the data), the new head moves."""
    start = _tensors(_start_weights(tmp_path))
    torch.manual_seed(0)  # the student's own initial head, as _make_model draws it
    fresh13 = {k: v for k, v in sgnet.create_model("sgnet_lite", num_classes=13).state_dict().items()
               if v.is_floating_point()}
    head = [k for k in fresh13 if fresh13[k].shape != start[k].shape]
    assert head and len(head) < 10
    params = {name for name, _ in sgnet.create_model("sgnet_lite").named_parameters()}
    given = [k for k in start if k in params and k not in head]

    probe = tmp_path / "probe"
    train(config(dataset, probe, iters=3, classes="nyu13", weights=str(tmp_path / "start.safetensors"), head_first=3))
    after = _tensors(probe / "model.safetensors")
    assert all(torch.equal(after[k], start[k]) for k in given)
    assert all(not torch.equal(after[k], fresh13[k]) for k in head if k.endswith("weight"))

    both = tmp_path / "both"
    train(config(dataset, both, iters=3, classes="nyu13", weights=str(tmp_path / "start.safetensors"), head_first=1))
    after = _tensors(both / "model.safetensors")
    assert sum(not torch.equal(after[k], start[k]) for k in given) > len(given) // 2


def test_head_first_needs_a_new_layer_and_at_most_iters(dataset, tmp_path):
    start = str(_start_weights(tmp_path))
    with pytest.raises(sgnet.SGNetUserError, match="no new layer to train first"):
        train(config(dataset, tmp_path / "a", iters=2, weights=start, head_first=1))
    with pytest.raises(sgnet.SGNetUserError, match="it needs them"):
        train(config(dataset, tmp_path / "b", iters=2, head_first=1))
    with pytest.raises(sgnet.SGNetUserError, match="is more than --iters"):
        train(config(dataset, tmp_path / "c", iters=2, weights=start, head_first=3, classes="nyu13"))
