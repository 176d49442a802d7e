"""Evaluation: NYUDv2 readers (both layouts), label mapping, scale/flip averaging, the
dataset-level metrics end to end, and one-line errors for broken folders."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from cli_runner import run_cli
from torch import nn

import sgnet
from sgnet.data import open_dataset
from sgnet.data.nyudv2 import map_labels
from sgnet.evaluate import EvalOptions, evaluate, predict_logits
from sgnet.metrics import scores
from sgnet.registry import _REGISTRY

H, W, C = 24, 32, 40


class ColorCodedStub(nn.Module):
    """Predicts class = R // 5 at every pixel, at full resolution (so predictions are known
    exactly); records the xyz it was given."""

    def __init__(self, num_classes: int = C) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.seen_xyz: list[torch.Tensor] = []

    def forward(self, image, xyz):
        self.seen_xyz.append(xyz.clone())
        red = image[:, 2] + 122.675  # BGR minus means -> R
        cls = torch.round(red / 5).long().clamp(0, self.num_classes - 1)
        return [nn.functional.one_hot(cls, self.num_classes).permute(0, 3, 1, 2).float(), None]


def write_sample(root: Path, name: str, pred: np.ndarray, label_raw: np.ndarray, depth: np.ndarray) -> None:
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0] = pred * 5
    rgb[..., 1] = 77
    for sub, img in (("RGB", rgb[:, :, ::-1]), ("Label", label_raw), ("Depth", depth)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(root / sub / f"{name}.png"), np.ascontiguousarray(img))


@pytest.fixture
def dataset_dir(tmp_path):
    """Three samples with known predictions and labels; a train/test split; intrinsics.json."""
    rng = np.random.default_rng(0)
    root = tmp_path / "nyu"
    samples = {}
    for name in ("1", "2", "10", "99"):
        pred = rng.integers(0, 4, (H, W))
        label_raw = rng.integers(0, 5, (H, W)).astype(np.uint8)  # 0 = unlabelled, 1..4 = classes 0..3
        depth = rng.integers(0, 5000, (H, W)).astype(np.uint16)
        write_sample(root, name, pred, label_raw, depth)
        samples[name] = (pred, label_raw, depth)
    (root / "test.txt").write_text("RGB/1.png\tLabel/1.png\n2\nRGB/10.png Label/10.png\n")
    (root / "train.txt").write_text("99\n")
    intr = {"width": W, "height": H, "fx": 30.0, "fy": 31.0, "cx": 15.5, "cy": 11.5}
    (root / "intrinsics.json").write_text(json.dumps(intr))
    return root, samples


def hand_confusion(pairs) -> np.ndarray:
    h = np.zeros((C, C), np.int64)
    for pred, label_raw in pairs:
        lab = label_raw.astype(int) - 1
        keep = lab >= 0
        np.add.at(h, (lab[keep], pred[keep]), 1)
    return h


def test_label_mapping_matches_official_wraparound():
    raw = np.array([0, 1, 2, 40, 41], np.uint8)
    np.testing.assert_array_equal(map_labels(raw), [255, 0, 1, 39, 40])  # 40 (>= C) is ignored later
    np.testing.assert_array_equal(map_labels(np.array([0, 39, 255], np.uint8), "zero-based"), [0, 39, 255])


def test_open_folder_layout_split_and_intrinsics(dataset_dir):
    root, samples = dataset_dir
    ds = open_dataset(root, split="test", depth_scale=0.002)
    assert [f.name for f in ds.files] == ["1", "2", "10"] and ds.layout == "nyudv2-folder"
    s = ds[1]
    assert s.name == "2"
    np.testing.assert_array_equal(s.frame.depth, samples["2"][2])
    np.testing.assert_array_equal(s.label, map_labels(samples["2"][1]))
    assert s.frame.intrinsics.fx == 30.0 and s.frame.depth_scale == 0.002
    assert [f.name for f in open_dataset(root, split="train").files] == ["99"]
    (root / "test.txt").unlink()
    (root / "train.txt").unlink()
    assert [f.name for f in open_dataset(root).files] == ["1", "2", "10", "99"]  # natural order of RGB/


def test_official_list_format(tmp_path):
    rng = np.random.default_rng(1)
    base = tmp_path / "dataset" / "nyud"
    lines = []
    for i in (3, 5):
        paths = {k: base / f"{k}/val/{i}.png" for k in ("images", "labels", "depths", "HHAs")}
        for p in paths.values():
            p.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(paths["images"]), rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
        cv2.imwrite(str(paths["labels"]), rng.integers(0, 41, (H, W)).astype(np.uint8))
        cv2.imwrite(str(paths["depths"]), rng.integers(0, 4000, (H, W)).astype(np.uint16))
        cv2.imwrite(str(paths["HHAs"]), rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
        lines.append(f"images/val/{i}.png labels/val/{i}.png depths/val/{i}.png HHAs/val/{i}.png")
    lst = base / "list" / "nyud" / "test_nyud.txt"
    lst.parent.mkdir(parents=True)
    lst.write_text("\n".join(lines) + "\n")
    ds = open_dataset(lst)  # root found by walking up from the list file
    assert ds.layout == "nyudv2-official-list" and ds.root == base and [f.name for f in ds.files] == ["3", "5"]
    sample = ds[0]
    assert sample.frame.depth.dtype == np.uint16 and sample.label.shape == (H, W)
    assert sample.frame.intrinsics.width == W  # NYU camera scaled to the image size
    ds2 = open_dataset(base, list_file=lst)
    assert ds2.files == ds.files


def test_evaluate_end_to_end_known_miou(dataset_dir):
    root, samples = dataset_dir
    ds = open_dataset(root, depth_scale=0.001)
    stub = ColorCodedStub()
    seen = []
    result = evaluate(stub, ds, EvalOptions(), on_prediction=lambda i, s, p: seen.append((s.name, p)))
    expected = hand_confusion([(samples[n][0], samples[n][1]) for n in ("1", "2", "10")])
    np.testing.assert_array_equal(result.hist, expected)
    ref = scores(expected)
    assert result.metrics.miou == pytest.approx(ref.miou)
    # by hand, for class 0: diag / (row + col - diag)
    diag, row, col = expected[0, 0], expected[0].sum(), expected[:, 0].sum()
    assert result.metrics.iou[0] == pytest.approx(diag / (row + col - diag))
    assert np.isnan(result.metrics.iou[10])  # never labelled nor predicted
    assert [n for n, _ in seen] == ["1", "2", "10"]
    np.testing.assert_array_equal(seen[0][1], samples["1"][0].astype(np.uint8))
    # the model saw xyz from the dataset's own intrinsics: z = depth * scale, x = (u - cx) z / fx
    xyz = stub.seen_xyz[0][0]
    z = samples["1"][2].astype(np.float32) * 0.001
    np.testing.assert_allclose(xyz[2].numpy(), z, rtol=1e-6)
    np.testing.assert_allclose(xyz[0, :, 20].numpy(), (20 - 15.5) * z[:, 20] / 30.0, rtol=1e-5, atol=1e-7)


class SizeStub(nn.Module):
    """Half-resolution logits: class 0 = input height / 100 (constant), class 1 = x ramp."""

    def forward(self, image, xyz):
        n, _, h, w = image.shape
        c0 = torch.full((n, 1, h // 2, w // 2), h / 100.0)
        c1 = torch.linspace(0, 1, w // 2).expand(n, 1, h // 2, w // 2)
        return torch.cat((c0, c1), 1)


def test_multiscale_and_flip_averaging():
    image, xyz = torch.zeros(1, 3, 40, 60), torch.zeros(1, 3, 40, 60)
    out = predict_logits(SizeStub(), image, xyz, scales=(0.8, 1.0, 2.0))
    assert out.shape == (1, 2, 40, 60)
    torch.testing.assert_close(out[0, 0], torch.full((40, 60), (32 + 40 + 80) / 300.0))
    torch.testing.assert_close(out[0, 1, 0], torch.linspace(0, 1, 60))  # align_corners=True upsampling
    flipped = predict_logits(SizeStub(), image, xyz, scales=(1.0,), flip=True)
    torch.testing.assert_close(flipped[0, 1], torch.full((40, 60), 0.5))  # ramp + mirrored ramp


def test_a_base_size_sets_what_scale_one_means():
    image, xyz = torch.zeros(1, 3, 40, 60), torch.zeros(1, 3, 40, 60)
    out = predict_logits(SizeStub(), image, xyz, scales=(1.0, 2.0), base=(20, 30))
    assert out.shape == (1, 2, 40, 60)  # still the label's size
    torch.testing.assert_close(out[0, 0], torch.full((40, 60), (20 + 40) / 200.0))


class SizedStub(ColorCodedStub):
    """The colour-coded stub with a default input size, as sgnet_lite has; records input sizes."""

    default_input_size = (12, 16)

    def __init__(self, num_classes: int = C) -> None:
        super().__init__(num_classes)
        self.sizes: list[tuple[int, int]] = []

    def forward(self, image, xyz):
        self.sizes.append(tuple(image.shape[-2:]))
        return super().forward(image, xyz)


def test_eval_runs_a_model_at_the_size_sgnet_live_does_unless_asked_for_the_frame(dataset_dir, tmp_path):
    root, _ = dataset_dir
    made: list[SizedStub] = []

    @sgnet.register_model
    def _sized_stub(num_classes: int = 40, fps: bool | None = None):
        """Stub with a default input size."""
        made.append(SizedStub(num_classes))
        return made[-1]

    try:
        for resolution, seen in (("model", (12, 16)), ("frame", (H, W))):
            out = tmp_path / f"{resolution}.json"
            argv = ["eval", str(root), "--model", "_sized_stub", "--random-weights", "--device", "cpu",
                    "--json", str(out)]
            assert run_cli([*argv, *(["--resolution", "frame"] if resolution == "frame" else [])]) == 0
            assert set(made[-1].sizes) == {seen}
            res = json.loads(out.read_text())
            assert res["resolution"] == resolution
            assert res["model_size"] == ([12, 16] if resolution == "model" else None)
    finally:
        del _REGISTRY["_sized_stub"]


@pytest.fixture
def stub_registered():
    @sgnet.register_model
    def _eval_stub(num_classes: int = 40, fps: bool | None = None):
        """Colour-coded stub for CLI tests."""
        return ColorCodedStub(num_classes)

    yield "_eval_stub"
    del _REGISTRY["_eval_stub"]


def test_eval_cli_json_and_pngs(dataset_dir, stub_registered, tmp_path, capsys):
    root, samples = dataset_dir
    out, preds = tmp_path / "r.json", tmp_path / "pred"
    code = run_cli(
        [
            "eval",
            str(root),
            "--model",
            stub_registered,
            "--random-weights",
            "--device",
            "cpu",
            "--json",
            str(out),
            "--save-pred",
            str(preds),
            "--xyz-mode",
            "nyu",
        ]
    )
    assert code == 0
    res = json.loads(out.read_text())
    expected = scores(hand_confusion([(samples[n][0], samples[n][1]) for n in ("1", "2", "10")]))
    assert res["metrics"]["miou"] == pytest.approx(expected.miou)
    assert res["metrics"]["pixel_acc"] == pytest.approx(expected.pixel_acc)
    assert res["images"] == 3 and res["scales"] == [1.0] and res["xyz_mode"] == "nyu"
    import assets

    png = cv2.imread(str(preds / "2.png"))[:, :, ::-1]
    np.testing.assert_array_equal(png, assets.colorize(samples["2"][0].astype(np.uint8)))
    assert "mIoU" in capsys.readouterr().out


def test_broken_datasets_give_one_line_errors(dataset_dir, tmp_path, capsys):
    root, _ = dataset_dir
    (root / "Depth" / "2.png").unlink()
    with pytest.raises(sgnet.DatasetError, match=r"1 file\(s\) listed but missing, first .*Depth/2.png"):
        open_dataset(root)
    assert run_cli(["eval", str(root), "--model", "sgnet_lite", "--random-weights", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sgnet: error:") and "Depth/2.png" in err[0]

    cv2.imwrite(str(root / "Depth" / "2.png"), np.zeros((H, W), np.uint8))  # 8-bit depth
    with pytest.raises(sgnet.DatasetError, match="16-bit"):
        open_dataset(root)[1]
    (root / "RGB" / "10.png").write_bytes(b"not a png")
    with pytest.raises(sgnet.DatasetError, match="10.png is not an image file"):
        open_dataset(root)[2]
    (root / "test.txt").write_text("a b c\n")
    with pytest.raises(sgnet.DatasetError, match="1 \\(name\\), 2"):
        open_dataset(root)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(sgnet.DatasetError, match="holds no dataset layout"):
        open_dataset(empty)
    assert run_cli(["eval", str(tmp_path / "missing"), "--device", "cpu"]) == 2
