"""Video mode as users run it: `sgnet synth --recording` writes the ground truth named like the
replay, `sgnet-live --keyframe-interval` writes one label PNG per frame on a recording and on the
demo, `sgnet bench video` and `sgnet train --refiner` run on the recording, mistakes are one line."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from cli_runner import run_cli
from test_app_cli import LIVE, SMALL, csv_rows, run

from app.synth.dataset import SynthConfig, fly_through_frames
from app.synth.truth import nyu40_to_ids, read_truth
from sgnet.temporal.refiner import load_refiner

FRAMES = 6


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    d = tmp_path_factory.mktemp("video")
    rec = d / "walk.db3"
    assert run_cli(["synth", str(d / "ds"), "-n", "1", "--rooms", "1", "--size", "48x64", "--seed", "3",
                    "--recording", str(rec), "--recording-frames", str(FRAMES), "-q"]) == 0
    return rec


def test_synth_writes_labels_and_poses_beside_the_recording(recording):
    truth = read_truth(recording.with_suffix(".labels"))
    names = sorted(p.name for p in truth.folder.glob("*.png"))
    assert names == [f"{i:06d}.png" for i in range(FRAMES)]
    first = next(iter(fly_through_frames(SynthConfig(out=recording.parent, frames=1, height=48, width=64, seed=3),
                                         1, FRAMES)))
    assert np.array_equal(truth.labels(0), nyu40_to_ids(first.labels))  # 0-based ids, as --save-labels writes
    assert truth.labels(0).max() < 40 and truth.poses.shape == (FRAMES, 4, 4)
    r = truth.poses[:, :3, :3]
    assert np.allclose(r @ r.transpose(0, 2, 1), np.eye(3), atol=1e-5)


def test_synth_refuses_to_replace_ground_truth_without_overwrite(recording, tmp_path, capsys):
    other = tmp_path / "x.db3"
    (tmp_path / "x.labels").mkdir()
    assert run_cli(["synth", str(tmp_path / "ds"), "-n", "1", "--recording", str(other)]) == 2
    assert "x.labels (the recording's ground truth) already exists" in capsys.readouterr().err


def test_live_interval_3_on_a_recording_writes_a_png_per_frame(recording, tmp_path):
    labels, log = tmp_path / "labels", tmp_path / "lat.csv"
    r = run(LIVE, ["--camera", recording, "--headless", "--keyframe-interval", "3", "--save-labels", labels,
                   "--log-latency", log, "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    assert "video mode: keyframe every 3 frames, carried by depth reprojection + refinement" in r.stderr
    rows = csv_rows(log)
    assert [int(x["index"]) for x in rows] == list(range(FRAMES))
    assert [x["keyframe"] for x in rows] == ["1", "0", "0"] * (FRAMES // 3)
    assert all(float(x["propagate_ms"]) > 0 for x in rows if x["keyframe"] == "0")
    truth = read_truth(recording.with_suffix(".labels"))
    for x in rows:
        ids = cv2.imread(str(labels / f"{int(x['index']):06d}.png"), cv2.IMREAD_UNCHANGED)
        assert ids.dtype == np.uint8 and ids.shape == (48, 64)
        assert truth.labels(int(x["index"])).shape == ids.shape  # pairs with the truth by name


def test_live_auto_and_smooth_on_the_demo(tmp_path):
    labels, log = tmp_path / "labels", tmp_path / "lat.csv"
    r = run(LIVE, ["--camera", "demo", "--headless", "--frames", 5, "--keyframe-interval", "auto", "--smooth",
                   "--save-labels", labels, "--save-confidence", "--log-latency", log, *SMALL])
    assert r.returncode == 0, r.stderr
    rows = csv_rows(log)
    assert len(rows) == 5 and rows[0]["keyframe"] == "1"
    for x in rows:
        ids = cv2.imread(str(labels / f"{int(x['index']):06d}.png"), cv2.IMREAD_UNCHANGED)
        assert ids.shape == (48, 64) and ids.dtype == np.uint8
        assert (labels / f"{int(x['index']):06d}_conf.png").is_file()


@pytest.mark.parametrize("value", ["0", "x"])
def test_a_bad_keyframe_interval_is_one_line(value, capsys):
    from app.cli_live import main

    with pytest.raises(SystemExit) as exc:
        main(["--camera", "demo", "--headless", "--frames", "1", "--keyframe-interval", value, *SMALL])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--keyframe-interval must be a whole number" in err


def test_bench_video_and_refiner_training_on_the_recording(recording, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert run_cli(["bench", "video", "-r", str(recording), "--modes", "1,3/flow/raw,3/smooth", "--json",
                    str(out)]) == 0
    got = json.loads(out.read_text())
    modes = {r["mode"]: r for r in got["results"]}
    assert set(modes) == {"1", "3/flow/raw", "3/smooth"} and got["frames"] == FRAMES
    assert modes["1"]["keyframes"] == FRAMES and modes["3/flow/raw"]["keyframes"] == 2
    assert 0 <= modes["3/smooth"]["miou"] <= 1 and modes["1"]["ratio_to_1"] == 1.0
    assert "mIoU" in capsys.readouterr().out
    assert run_cli(["train", "--refiner", "--data", str(recording), "--iters", "2", "--out", str(tmp_path / "r")]) == 0
    load_refiner(tmp_path / "r" / "refiner.safetensors")
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["iterations"] == 2
    assert run_cli(["bench", "video", "-r", str(recording), "--modes", "3/fast"]) == 2
    assert "unknown part 'fast'" in capsys.readouterr().err


def test_interval_1_without_smooth_is_the_plain_segmenter():
    import sgnet
    from app.live import LiveOptions, load_segmenter
    from sgnet.temporal import VideoSegmenter

    plain = load_segmenter(LiveOptions(device="cpu", quiet=True))
    assert type(plain) is sgnet.Segmenter
    video = load_segmenter(LiveOptions(device="cpu", quiet=True, keyframe_interval="1", smooth=True))
    assert isinstance(video, VideoSegmenter) and video.options.smooth and video.options.policy.interval == 1
    assert (video.model_name, video.engine_name, video.model_classes) == ("sgnet_lite", "torch", plain.model_classes)
