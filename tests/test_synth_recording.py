"""`sgnet synth --recording`: a fly-through written by librealsense's own recorder replays,
through pyrealsense2 playback, with every frame identical."""

from __future__ import annotations

import numpy as np
import pytest

from app.cli_tools import main
from app.synth.camera import make_intrinsics
from app.synth.dataset import SynthConfig, fly_through_frames
from app.synth.recording import RecordingWriter, read_recording, recording_intrinsics

N = 12


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    base = tmp_path_factory.mktemp("rec")
    out, rec = base / "data", base / "walk.db3"
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "synth",
                str(out),
                "-n",
                "2",
                "--size",
                "48x64",
                "--rooms",
                "2",
                "--seed",
                "3",
                "-q",
                "--recording",
                str(rec),
                "--recording-frames",
                str(N),
            ]
        )
    assert exc.value.code in (0, None)
    return out, rec


def test_every_frame_replays_identically(recorded):
    out, rec = recorded
    frames = list(read_recording(rec))
    assert len(frames) == N
    # render the same walk again (same seed, the room after the dataset's rooms) and compare
    cfg = SynthConfig(out=out, frames=2, height=48, width=64, seed=3, rooms=2)
    expected = list(fly_through_frames(cfg, 2, N))
    for got, exp in zip(frames, expected, strict=True):
        assert got.color.dtype == np.uint8 and got.depth.dtype == np.uint16
        assert np.array_equal(got.color, exp.color)
        assert np.array_equal(got.depth, exp.depth)
    assert [f.index for f in frames] == list(range(N))
    ts = [f.timestamp_ms for f in frames]
    assert all(b > a for a, b in zip(ts, ts[1:], strict=False))
    assert frames[0].depth_units == pytest.approx(0.001)
    # a walk, not a still: consecutive frames differ, but only a little (smooth path)
    diffs = [
        np.mean(np.abs(a.color.astype(int) - b.color.astype(int))) for a, b in zip(frames, frames[1:], strict=False)
    ]
    assert min(diffs) > 0 and max(diffs) < 60


def test_recording_carries_the_rendered_intrinsics(recorded):
    _, rec = recorded
    got = recording_intrinsics(rec)
    ref = make_intrinsics(64, 48)
    assert (got.width, got.height) == (64, 48)
    assert got.fx == pytest.approx(ref.fx, rel=1e-6) and got.cx == pytest.approx(ref.cx)


def test_writer_rejects_wrong_arrays(tmp_path):
    intr = make_intrinsics(32, 24)
    with RecordingWriter(tmp_path / "x.db3", intr) as w:
        with pytest.raises(ValueError, match="depth must be uint16"):
            w.write(np.zeros((24, 32, 3), np.uint8), np.zeros((24, 32), np.float32))
        with pytest.raises(ValueError, match="colour must be uint8"):
            w.write(np.zeros((24, 31, 3), np.uint8), np.zeros((24, 32), np.uint16))
        w.write(np.full((24, 32, 3), 7, np.uint8), np.full((24, 32), 1234, np.uint16))
    (frame,) = list(read_recording(tmp_path / "x.db3"))
    assert (frame.color == 7).all() and (frame.depth == 1234).all()


def test_recording_holdout_script_writes_the_unlabelled_frames_with_their_truth(recorded, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from app.synth.truth import read_truth, truth_folder
    from sgnet.data import open_dataset

    _, rec = recorded
    script = Path(__file__).resolve().parents[1] / "scripts" / "recording_holdout.py"
    out = tmp_path / "own"
    r = subprocess.run([sys.executable, str(script), str(rec), "--out", str(out), "--every", "4", "--offset", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "not read back" not in r.stderr  # a lost frame would be named; retried then
    data = open_dataset(str(out), split="test", need_labels=True)
    assert len(data) == 3  # frames 1, 5, 9 of 12
    frames, truth = list(read_recording(rec)), read_truth(truth_folder(rec))
    for sample, i in zip(data, (1, 5, 9), strict=True):
        assert np.array_equal(sample.frame.color, frames[i].color)
        assert np.array_equal(sample.label, truth.labels(i))  # NYU40 1-based on disk, 0-based (255 void) read
        assert sample.frame.intrinsics == truth.intrinsics
    r = subprocess.run([sys.executable, str(script), str(rec), "--out", str(out)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "exists" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_verify_recording_passes_a_good_file_and_counts_a_wrong_frame(recorded, monkeypatch):
    """A good file verifies whole; a frame that differs from what was written is counted after
    every replay has been tried (a replay that merely lost frames is read again)."""
    from app.synth import recording

    _, rec = recorded
    digests = [recording.frame_digest(f.color, f.depth) for f in read_recording(rec)]
    assert recording.verify_recording(rec, digests) == (N, N)
    replays = []
    real = recording.read_recording
    monkeypatch.setattr(recording, "read_recording", lambda p: replays.append(p) or real(p))
    assert recording.verify_recording(rec, [*digests[:-1], "not this"], attempts=2) == (N - 1, N)
    assert len(replays) == 2
