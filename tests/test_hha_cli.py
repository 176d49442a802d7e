"""`sgnet hha` and `sgnet bench hha` end to end on a tiny dataset written by the test."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import hha
from app.cli_tools import main

H, W = 48, 64
CAM = {"width": W, "height": H, "fx": 55.0, "fy": 55.0, "cx": 31.5, "cy": 23.5}


def room_mm(pitch_deg: float, wall_m: float) -> np.ndarray:
    """uint16 millimetres: a floor 1.2 m under a camera pitched down, and a wall ahead."""
    p = math.radians(pitch_deg)
    g = np.array([0.0, math.cos(p), math.sin(p)])
    fwd = np.array([0.0, -math.sin(p), math.cos(p)])
    u, v = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
    r = np.stack(((u - CAM["cx"]) / CAM["fx"], (v - CAM["cy"]) / CAM["fy"], np.ones_like(u)), -1)
    depth = np.full((H, W), np.inf)
    for n, d in ((g, 1.2), (fwd, wall_m)):
        den = r @ n
        with np.errstate(divide="ignore", invalid="ignore"):
            depth = np.minimum(depth, np.where(den > 1e-9, d / den, np.inf))
    depth[~np.isfinite(depth)] = 0
    return np.round(depth * 1000).astype(np.uint16)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    src = tmp_path / "nyu"
    (src / "Depth").mkdir(parents=True)
    cv2.imwrite(str(src / "Depth" / "0001.png"), room_mm(20.0, 3.0))
    cv2.imwrite(str(src / "Depth" / "0002.png"), room_mm(35.0, 2.5))
    (src / "intrinsics.json").write_text(json.dumps(CAM))
    return src


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out.out, out.err


def expected_hha(depth_mm: np.ndarray) -> torch.Tensor:
    cam = (CAM["fx"], CAM["fy"], CAM["cx"], CAM["cy"])
    return hha.depth_to_hha(torch.from_numpy(depth_mm.astype(np.float32) / 1000), cam)


def test_converts_dataset_and_writes_rgb_order_disparity_height_angle(dataset, tmp_path, capsys):
    dst = tmp_path / "out"
    code, _, err = run(["hha", str(dataset), str(dst), "--device", "cpu"], capsys)
    assert code == 0, err
    assert "converted 2" in err and "intrinsics.json" in err
    for name, (pitch, wall) in {"0001": (20.0, 3.0), "0002": (35.0, 2.5)}.items():
        bgr = cv2.imread(str(dst / "HHA" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert bgr.dtype == np.uint8 and bgr.shape == (H, W, 3)
        want = expected_hha(room_mm(pitch, wall))
        # OpenCV gives B, G, R = angle, height, disparity: the PNG's R, G, B are (d, h, a)
        assert np.array_equal(bgr[..., 2], want[0].numpy())
        assert np.array_equal(bgr[..., 1], want[1].numpy())
        assert np.array_equal(bgr[..., 0], want[2].numpy())
        assert torch.equal(hha.io.read_hha_png(dst / "HHA" / f"{name}.png"), want)
    assert not list((dst / "HHA").glob(".*"))  # no partial files left behind


def test_skips_finished_files_unless_overwrite(dataset, capsys):
    target = dataset / "HHA" / "0001.png"
    code, _, _ = run(["hha", str(dataset), str(dataset)], capsys)
    assert code == 0
    cv2.imwrite(str(target), np.zeros((H, W, 3), np.uint8))  # a stand-in "finished" file
    code, _, err = run(["hha", str(dataset), str(dataset)], capsys)
    assert code == 0 and "skipped 2" in err
    assert cv2.imread(str(target)).max() == 0
    code, _, err = run(["hha", str(dataset), str(dataset), "--overwrite"], capsys)
    assert code == 0 and "converted 2" in err
    assert cv2.imread(str(target)).max() > 0


def test_bad_files_are_counted_and_the_run_goes_on(dataset, tmp_path, capsys):
    (dataset / "Depth" / "0003.png").write_bytes(b"not a png at all")
    cv2.imwrite(str(dataset / "Depth" / "0004.png"), np.full((H, W), 100, np.uint8))  # 8-bit depth
    cv2.imwrite(str(dataset / "Depth" / "0005.png"), np.full((H + 2, W), 1000, np.uint16))  # wrong size
    dst = tmp_path / "out"
    code, _, err = run(["hha", str(dataset), str(dst)], capsys)
    assert code == 1
    assert "converted 2" in err and "failed 3" in err
    assert "0003.png" in err and "16-bit" in err and "intrinsics" in err
    assert sorted(p.name for p in (dst / "HHA").iterdir()) == ["0001.png", "0002.png"]


def test_intrinsics_options_and_depth_scale(dataset, tmp_path, capsys):
    # the same scene stored in 0.25 mm units with explicit intrinsics gives the same HHA
    src = tmp_path / "quarter"
    (src / "Depth").mkdir(parents=True)
    mm = room_mm(20.0, 3.0)
    cv2.imwrite(str(src / "Depth" / "a.png"), (mm.astype(np.uint32) * 4).astype(np.uint16))
    args = ["--fx", "55", "--fy", "55", "--cx", "31.5", "--cy", "23.5", "--depth-scale", "0.00025"]
    code, _, err = run(["hha", str(src), str(src), *args], capsys)
    assert code == 0, err
    assert torch.equal(hha.io.read_hha_png(src / "HHA" / "a.png"), expected_hha(mm))
    # without intrinsics the NYU camera (640x480) is assumed, which does not fit 64x48
    (dataset / "intrinsics.json").unlink()
    code, _, err = run(["hha", str(dataset), str(tmp_path / "o2")], capsys)
    assert code == 1 and "NYUv2" in err and "640x480" in err


def test_raw_dir_masks_only_the_normal_fit(dataset, tmp_path, capsys):
    raw = room_mm(20.0, 3.0)
    raw[10:30, 20:44] = 0
    (dataset / "Raw").mkdir()
    cv2.imwrite(str(dataset / "Raw" / "0001.png"), raw)
    cv2.imwrite(str(dataset / "Raw" / "0002.png"), room_mm(35.0, 2.5))
    code, _, err = run(["hha", str(dataset), str(tmp_path / "o"), "--raw-dir", "Raw"], capsys)
    assert code == 0, err
    out = hha.io.read_hha_png(tmp_path / "o" / "HHA" / "0001.png")
    plain = expected_hha(room_mm(20.0, 3.0))
    assert torch.equal(out[0], plain[0])
    assert (out[2, 13:27, 23:41] == 218).all() and not (plain[2, 13:27, 23:41] == 218).any()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["hha", "{tmp}/nope", "{tmp}/o"], "does not exist"),
        (["hha", "{tmp}", "{tmp}/o"], "no Depth/ folder"),
        (["hha", "{src}", "{tmp}/o", "--depth-dir", "Empty"], "no .png"),
        (["hha", "{src}", "{tmp}/o", "--fx", "500"], "all four"),
        (["hha", "{src}", "{tmp}/o", "--depth-scale", "0"], "--depth-scale"),
        (["hha", "{src}", "{tmp}/o", "--raw-dir", "Missing"], "--raw-dir"),
        (["hha", "{src}", "{tmp}/o", "--device", "tpu"], "--device"),
        (["hha", "{src}", "{tmp}/o", "--threads", "0"], "--threads"),
        (["bench", "hha", "--size", "big"], "--size"),
    ],
)
def test_user_mistakes_give_one_line(dataset, tmp_path, capsys, argv, words):
    (dataset / "Empty").mkdir()
    argv = [a.format(tmp=tmp_path, src=dataset) for a in argv]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_intrinsics_json_is_a_user_error(dataset, tmp_path, capsys):
    (dataset / "intrinsics.json").write_text('{"fx": 1}')
    code, _, err = run(["hha", str(dataset), str(tmp_path / "o")], capsys)
    assert code == 2 and "width, height, fx, fy, cx, cy" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_gpu_is_a_user_error(dataset, tmp_path, capsys):
    code, _, err = run(["hha", str(dataset), str(tmp_path / "o"), "--device", "cuda"], capsys)
    assert code == 2 and "no CUDA" in err


def test_bench_hha_writes_json(tmp_path, capsys):
    out = tmp_path / "b" / "hha.json"
    args = ["bench", "hha", "--device", "cpu", "--size", "48x64", "--repeats", "2", "--warmup", "0", "--json", str(out)]
    code, stdout, _ = run(args, capsys)
    assert code == 0
    data = json.loads(out.read_text())
    assert data["size"] == [48, 64] and data["device"] == "cpu"
    assert set(data["results"]) == {"hha", "hha_exact", "hha_known_gravity", "xyz"}
    assert all(r["median_ms"] > 0 for r in data["results"].values())
    assert "ms per frame" in stdout
