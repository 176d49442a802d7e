"""TUM RGB-D: colour and depth paired as TUM's associate.py pairs them, depth in 1/5000 m, the
freiburg sensor's intrinsics; no labels, which `sgnet eval` says in one line, while
`sgnet-live --camera DIR` plays the sequence."""

from __future__ import annotations

import numpy as np
import pytest
from cli_runner import run_cli
from data_layouts import TUM_DEPTH, TUM_RGB, depth_mm, write_tum

import sgnet
from app.sources import SourceOptions, open_source
from sgnet.data import detect_layout, open_dataset
from sgnet.data.tum import CAMERAS, associate


def associate_py(first: list[float], second: list[float], max_difference: float = 0.02) -> list[tuple[int, int]]:
    """TUM's associate.py, as published (all candidate pairs, closest first, each stamp once)."""
    a_keys, b_keys = list(first), list(second)
    potential = sorted((abs(a - b), a, b) for a in a_keys for b in b_keys if abs(a - b) < max_difference)
    matches = []
    for _, a, b in potential:
        if a in a_keys and b in b_keys:
            a_keys.remove(a)
            b_keys.remove(b)
            matches.append((a, b))
    return [(first.index(a), second.index(b)) for a, b in sorted(matches)]


def test_association_matches_associate_py():
    assert associate(TUM_RGB, TUM_DEPTH) == associate_py(TUM_RGB, TUM_DEPTH)
    rng = np.random.default_rng(0)
    for _ in range(20):
        rgb = sorted(rng.uniform(0, 3, 60).tolist())
        depth = sorted(rng.uniform(0, 3, 70).tolist())
        assert associate(rgb, depth) == associate_py(rgb, depth)


@pytest.fixture
def seq(tmp_path):
    # the third colour frame has no depth within 0.02 s
    rgb = [*TUM_RGB[:2], 1305031102.90, *TUM_RGB[3:]]
    return write_tum(tmp_path / "rgbd_dataset_freiburg1_xyz", rgb=rgb)


def test_sequence_reads_with_its_scale_and_camera(seq):
    assert detect_layout(seq) == "tum"
    notes: list[str] = []
    ds = open_dataset(seq, split="test", on_note=notes.append)
    assert ds.layout == "tum" and not ds.has_labels and ds.depth_scale == 0.0002
    assert len(ds) == 4 and notes == ["1 of 5 colour frames have no depth frame within 0.02 s: left out"]
    f = ds.read_frame(0)
    np.testing.assert_allclose(f.depth_m(), depth_mm(0) / 1000.0, rtol=1e-6)  # x5000 units, metres right
    k = f.intrinsics
    assert (k.fx, k.fy, k.cx, k.cy) == CAMERAS["freiburg1"]
    assert f.device_ts_ms == pytest.approx(TUM_RGB[0] * 1000)
    explicit = open_dataset(seq, depth_scale=0.001, on_note=notes.append)
    assert explicit.read_frame(0).depth_scale == 0.001  # an explicit scale wins


def test_unknown_sensor_gets_the_default_camera_and_a_note(tmp_path):
    seq = write_tum(tmp_path / "my_sequence")
    notes: list[str] = []
    k = open_dataset(seq, on_note=notes.append).read_frame(0).intrinsics
    assert (k.fx, k.fy, k.cx, k.cy) == (525.0, 525.0, 319.5, 239.5)
    assert "names no TUM sensor" in notes[0]


def test_eval_says_there_are_no_labels_in_one_line(seq, capsys):
    code = run_cli(["eval", str(seq), "-m", "sgnet_lite", "-w", "assets/sgnet_lite_synth.safetensors",
                    "--device", "cpu"])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1
    assert err[0] == f"sgnet: error: no labels to score against: {seq} is a TUM RGB-D sequence, which has no labels"
    with pytest.raises(sgnet.DatasetError, match="TUM RGB-D sequence, which has no labels"):
        open_dataset(seq, on_note=lambda n: None)[0]


def test_live_folder_source_plays_it_at_its_timestamps(seq):
    src = open_source(str(seq), SourceOptions())
    assert "TUM RGB-D sequence" in src.info.description and src.info.num_frames == 4
    with src:
        frames = list(src)
    assert frames[0].depth_scale == 0.0002 and frames[0].intrinsics.fx == CAMERAS["freiburg1"][0]
    assert [round(f.device_ts_ms, 3) for f in frames] == [round((t - TUM_RGB[0]) * 1000, 3)
                                                           for t in (TUM_RGB[0], TUM_RGB[1], *TUM_RGB[3:])]
