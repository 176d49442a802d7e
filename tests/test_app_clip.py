"""Demo clip files: what is written is what is read (clean depth + replayed sensor noise)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from app.sources.clip import ClipError, ClipFrame, read_clip, write_clip
from sgnet.frames import Intrinsics

INTR = Intrinsics(40, 30, 35.0, 35.0, 19.5, 14.5)


def _frames(n=3):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        yy, xx = np.mgrid[0:30, 0:40]
        color = np.stack([xx * 6, yy * 8, np.full_like(xx, 40 * i)], -1).astype(np.uint8)
        depth = (1500 + 10 * yy + i).astype(np.uint16)
        depth[rng.random(depth.shape) < 0.05] = 0
        labels = ((xx // 10) + 1).astype(np.uint8)
        out.append(ClipFrame(color, depth, labels))
    return out


def test_roundtrip_keeps_labels_and_clean_depth_exactly(tmp_path):
    frames = _frames()
    path = tmp_path / "c.zip"
    assert write_clip(path, frames, INTR, fps=15.0, meta={"rooms": ["x"]}, noise_seed=7) == 3
    clip = read_clip(path, noise=False)
    assert len(clip) == 3 and clip.intrinsics == INTR and clip.fps == 15.0 and clip.meta == {"rooms": ["x"]}
    for a, b in zip(frames, clip.frames, strict=True):
        np.testing.assert_array_equal(a.depth, b.depth)
        np.testing.assert_array_equal(a.labels, b.labels)
        assert np.abs(a.color.astype(int) - b.color).mean() < 3  # JPEG, quality 90
    assert not list(tmp_path.glob("*.tmp"))


def test_read_adds_deterministic_sensor_noise_only_where_depth_is_valid(tmp_path):
    frames = _frames()
    path = tmp_path / "c.zip"
    write_clip(path, frames, INTR, noise_seed=7)
    a, b = read_clip(path), read_clip(path)
    for clean, n1, n2 in zip(frames, a.frames, b.frames, strict=True):
        np.testing.assert_array_equal(n1.depth, n2.depth)  # same noise on every read
        np.testing.assert_array_equal(n1.depth == 0, clean.depth == 0)  # holes stay holes, no new ones
        diff = n1.depth.astype(int) - clean.depth
        assert diff[clean.depth > 0].std() > 1  # noise was added (about 1 cm at 1.5 m)
        assert np.abs(diff).max() < 100
    assert not np.array_equal(a.frames[0].depth - frames[0].depth, a.frames[1].depth - frames[1].depth)


def test_without_noise_seed_depth_is_stored_as_given(tmp_path):
    frames = _frames(1)
    write_clip(tmp_path / "c.zip", frames, INTR, noise_seed=None)
    np.testing.assert_array_equal(read_clip(tmp_path / "c.zip").frames[0].depth, frames[0].depth)


def test_a_failed_write_leaves_nothing(tmp_path):
    def broken():
        yield from _frames(1)
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError):
        write_clip(tmp_path / "c.zip", broken(), INTR)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", ["notzip", "nojson"])
def test_unreadable_clips_are_one_line_errors(tmp_path, content):
    path = tmp_path / "bad.zip"
    if content == "notzip":
        path.write_bytes(b"hello")
    else:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("color/00000.jpg", b"")
    with pytest.raises(ClipError) as e:
        read_clip(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)
