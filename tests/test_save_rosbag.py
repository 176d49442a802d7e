"""`--save-rosbag OUT`: a ROS 2 bag of the labels, read back with rosbags.

One mono8 label image (and one CameraInfo) per frame, stamped with the source frame's device
time, equal to the frame's label PNG; finalized on Ctrl-C; sqlite3 or MCAP by OUT's suffix;
never a half bag under the bag's name; mistakes are one line before the run.
"""

from __future__ import annotations

import signal
import subprocess
import time

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore
from test_app_cli import LIVE, ROOT, SMALL
from test_app_outputs_failures import hidden, write_until_full
from test_app_render_sinks import make_seg

from app.outputs import OutputOptions, check_outputs
from app.sinks.base import OutputError, Rendered
from app.sinks.rosbag_out import RosbagSink, stamp_ns
from app.sources.base import SourceOptions
from app.sources.demo import DemoSource
from sgnet.errors import SGNetUserError

STORE = get_typestore(Stores.ROS2_HUMBLE)


def read_bag(folder) -> tuple[int, dict[str, list]]:
    """(the message count metadata.yaml gives, {topic: [(log time, message), ...]}) of the bag in `folder`."""
    out: dict[str, list] = {}
    with Reader(folder) as reader:
        for conn, t, raw in reader.messages():
            out.setdefault(conn.topic, []).append((t, STORE.deserialize_cdr(raw, conn.msgtype)))
        return reader.message_count, out


def stamp(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def test_a_live_run_stopped_by_ctrl_c_leaves_a_bag_of_its_frames(tmp_path):
    """SIGINT mid-run: the bag is finalized with one label image per label PNG, equal to it,
    stamped with the demo's device time; confidence and CameraInfo beside them."""
    out, pngs = tmp_path / "labels", tmp_path / "labels"
    args = ["--camera", "demo", "--headless", *SMALL, "--quiet", "--save-rosbag", tmp_path / "run.mcap",
            "--save-labels", out, "--save-confidence"]
    with subprocess.Popen(LIVE + [str(a) for a in args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        deadline = time.monotonic() + 240
        while proc.poll() is None and len(list(pngs.glob("??????.png"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    indices = sorted(int(p.stem) for p in pngs.glob("??????.png"))
    n = len(indices)
    assert n >= 3 and indices == list(range(n))
    assert f"sgnet-live: rosbag: {n} label images in {tmp_path / 'run'} (run.mcap + metadata.yaml, mcap; " \
           f"/sgnet/labels, /sgnet/camera_info, /sgnet/confidence; stamps 0.000 … {(n - 1) / 30:.3f} s)" in err
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["metadata.yaml", "run.mcap"]
    assert hidden(tmp_path) == []  # the partial folder became the bag
    count, topics = read_bag(tmp_path / "run")
    assert count == 3 * n
    demo = DemoSource(SourceOptions(width=64, height=48))
    for i, (t, img), (_, conf), (_, info) in zip(indices, topics["/sgnet/labels"], topics["/sgnet/confidence"],
                                                 topics["/sgnet/camera_info"], strict=True):
        want = stamp_ns(i * 1000 / 30)  # the demo's device_ts_ms, in ns
        assert t == stamp(img) == stamp(conf) == stamp(info) == want
        assert (img.encoding, img.height, img.width, img.step, img.header.frame_id) == \
               ("mono8", 48, 64, 64, "camera_color_optical_frame")
        np.testing.assert_array_equal(img.data.reshape(48, 64), cv2.imread(str(out / f"{i:06d}.png"), -1))
        np.testing.assert_array_equal(conf.data.reshape(48, 64), cv2.imread(str(out / f"{i:06d}_conf.png"), -1))
        np.testing.assert_allclose(info.k.reshape(3, 3), demo.intrinsics.matrix())
        assert (info.width, info.height, info.distortion_model) == (64, 48, "plumb_bob")


@pytest.mark.parametrize(("name", "storage", "data"), [("res.db3", "sqlite3", "res.db3"), ("res", "sqlite3", "res.db3"),
                                                       ("res.mcap", "mcap", "res.mcap")])
def test_the_suffix_picks_the_storage_and_the_folder_drops_it(tmp_path, name, storage, data):
    sink = RosbagSink(str(tmp_path / name))
    segs = [make_seg(i) for i in (0, 1, 5)]
    for seg in [*segs, segs[1]]:  # the window shows frame 1 again after a seek: in the bag once
        sink.write(Rendered(seg))
    line = sink.close()[0]
    assert line == (f"rosbag: 3 label images in {tmp_path / 'res'} ({data} + metadata.yaml, {storage}; /sgnet/labels, "
                    "/sgnet/camera_info; stamps 0.000 … 0.167 s; 1 frame shown again after a seek, kept once)")
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == sorted(["metadata.yaml", data])
    _, topics = read_bag(tmp_path / "res")
    assert set(topics) == {"/sgnet/labels", "/sgnet/camera_info"}
    for seg, (t, img) in zip(segs, topics["/sgnet/labels"], strict=True):
        assert t == stamp(img) == stamp_ns(seg.frame.device_ts_ms)
        np.testing.assert_array_equal(img.data.reshape(img.height, img.width), seg.labels)


def test_no_frames_no_bag(tmp_path):
    assert RosbagSink(str(tmp_path / "res.mcap")).close() == ["rosbag: none (no frames)"]
    opened = RosbagSink(str(tmp_path / "res.mcap"))
    opened.open(48, 32, 30.0)  # the partial bag is made before the first frame...
    assert len(hidden(tmp_path)) == 1
    assert opened.close() == ["rosbag: none (no frames)"]
    assert list(tmp_path.iterdir()) == []  # ...and removed when none came


@pytest.mark.parametrize(("suffix", "why"), [(".mcap", "disk full"), (".db3", "database or disk is full")])
def test_a_full_disk_removes_the_partial_bag_and_says_so(nearly_full_tmpfs, suffix, why):
    disk = nearly_full_tmpfs("4m", 600)
    sink = RosbagSink(str(disk / f"res{suffix}"))
    written, error = write_until_full(sink, 200, lambda i: Rendered(make_seg(i, 320, 240)))
    assert 0 < written < 200
    assert str(error) == (f"{why} writing the ROS bag {disk / 'res'}; no bag was written (the partial bag of "
                          f"{written} frames was removed)")
    assert error.exit_code == 4
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # neither a bag nor a partial folder
    assert sink.close() == [f"rosbag: none written ({why})"]


def test_a_name_taken_during_the_run_keeps_the_finished_bag_where_it_is(tmp_path):
    sink = RosbagSink(str(tmp_path / "res.mcap"))
    sink.write(Rendered(make_seg(0)))
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "mine.txt").write_text("somebody else's")
    with pytest.raises(OutputError) as e:
        sink.close()
    (partial,) = hidden(tmp_path)
    done = tmp_path / partial / "res"
    assert str(e.value) == (f"cannot move the finished ROS bag to {tmp_path / 'res'} (directory not empty: was it "
                            f"created during the run?); the complete bag of 1 frame is in {done}")
    assert read_bag(done)[0] == 2  # labels + camera_info, readable where it was left
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == ["mine.txt"]


@pytest.mark.parametrize(("out", "line"), [
    ("run.bag", "--save-rosbag {d}/run.bag: ROS 1 .bag files are not written; give NAME.mcap or NAME.db3 "
     "(a ROS 2 bag: folder NAME/)"),
    ("run.zip", "--save-rosbag {d}/run.zip must end in .mcap or .db3 (a ROS 2 bag: folder NAME/ with NAME.mcap or "
     "NAME.db3 and metadata.yaml)"),
    ("old.mcap", "--save-rosbag {d}/old.mcap: {d}/old exists already (a bag is never overwritten): choose another "
     "name or remove it"),
    ("no/run.mcap", "--save-rosbag {d}/no/run.mcap: folder {d}/no does not exist (create it first)"),
])
def test_mistakes_are_one_line_before_the_run(tmp_path, out, line):
    (tmp_path / "old").mkdir()
    with pytest.raises(SGNetUserError) as e:
        check_outputs(OutputOptions(save_rosbag=str(tmp_path / out)))
    assert str(e.value) == line.format(d=tmp_path)
