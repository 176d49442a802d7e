"""realsense-ros bags as a source: ROS 1 .bag, ROS 2 sqlite and mcap, written here with rosbags.

The same demo frames written to a folder and to bags must come out identical (pixels, depth,
intrinsics) and give the same labels through the real `sgnet-live`; unaligned depth with the
depth -> color extrinsics (topic or tf) must come out as librealsense's own `rs.align` aligns
the same frames from a librealsense recording.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest
from ros_bags import PERIOD_NS, BagSpec, stamp, write_bag
from test_app_cli import LIVE, run

from app.errors import UserError
from app.sources import BadFrame, DamagedInputError, SourceOptions, open_source, source_kind
from app.sources.demo import DemoSource
from sgnet.frames import Intrinsics, RGBDFrame

N = 3
SMALL = ["--device", "cpu", "--quiet"]
STORAGES = ("ros1", "sqlite", "mcap")


def bag_path(tmp: Path, storage: str, name: str = "cam") -> Path:
    return tmp / (f"{name}.bag" if storage == "ros1" else name)


@pytest.fixture(scope="module")
def demo() -> list[RGBDFrame]:
    src = DemoSource(SourceOptions(width=64, height=48))
    return [src.frame(i) for i in range(N)]


def aligned_spec(frames: list[RGBDFrame], **kw) -> BagSpec:
    return BagSpec([f.color for f in frames], [f.depth for f in frames], frames[0].intrinsics, **kw)


def write_folder(path: Path, frames: list[RGBDFrame]) -> Path:
    path.mkdir()
    for f in frames:
        assert cv2.imwrite(str(path / f"f{f.index:03d}_color.png"), f.color[:, :, ::-1])
        assert cv2.imwrite(str(path / f"f{f.index:03d}_depth.png"), f.depth)
    k = frames[0].intrinsics
    (path / "intrinsics.json").write_text(json.dumps(dict(width=k.width, height=k.height, fx=k.fx, fy=k.fy,
                                                          cx=k.cx, cy=k.cy)))
    return path


def read_all(spec: str | Path, **opts) -> tuple[list, object]:
    src = open_source(str(spec), SourceOptions(**opts))
    with src:
        items = list(src)
    return items, src


def same_frame(a: RGBDFrame, b: RGBDFrame) -> bool:
    return (a.color == b.color).all() and (a.depth == b.depth).all() and a.intrinsics == b.intrinsics \
        and a.depth_scale == b.depth_scale


# --- replay -------------------------------------------------------------------------------------


@pytest.mark.parametrize("storage", STORAGES)
def test_a_bag_replays_the_frames_it_was_written_from(tmp_path, demo, storage):
    path = write_bag(bag_path(tmp_path, storage), aligned_spec(demo), storage)
    assert source_kind(str(path)) == "rosbag"
    items, src = read_all(path)
    assert len(items) == N and all(isinstance(i, RGBDFrame) for i in items)
    assert all(same_frame(a, b) for a, b in zip(items, demo, strict=True))
    assert [i.index for i in items] == list(range(N))
    assert [i.device_ts_ms for i in items] == [stamp(i) / 1e6 for i in range(N)]  # header stamps, ns -> ms
    assert [i.stamp_ns for i in items] == [stamp(i) for i in range(N)]  # exact, for --save-rosbag
    assert src.end_report() == [] and "aligned to color" in src.info.description


def test_bare_db3_and_mcap_files_and_misnamed_ones_are_read(tmp_path, demo):
    for storage, ext in (("sqlite", "db3"), ("mcap", "mcap")):
        folder = write_bag(tmp_path / storage, aligned_spec(demo), storage)
        bare = folder / f"{storage}.{ext}"
        misnamed = shutil.copyfile(bare, tmp_path / f"{storage}.bin")
        for p in (bare, misnamed):
            items, _ = read_all(p)
            assert all(same_frame(a, b) for a, b in zip(items, demo, strict=True)), p


def test_labels_from_bags_are_the_labels_from_a_folder_of_the_same_frames(tmp_path, demo):
    folder = write_folder(tmp_path / "frames", demo)
    runs = {"folder": folder, "ros1": write_bag(tmp_path / "cam.bag", aligned_spec(demo), "ros1")}
    labels = {}
    for name, path in runs.items():
        out = tmp_path / f"labels_{name}"
        bag_out = ["--save-rosbag", tmp_path / "out.mcap"] if name == "ros1" else []
        r = run(LIVE, ["--camera", path, "--headless", "--save-labels", out, *bag_out, *SMALL])
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        labels[name] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert sorted(labels["folder"]) == [f"{i:06d}.png" for i in range(N)]
    assert labels["ros1"] == labels["folder"]  # ROS 2 bags give the very same frames (tests above)
    # --save-rosbag gives the source's header stamps back to the nanosecond (a float of ms could not)
    from test_save_rosbag import read_bag
    from test_save_rosbag import stamp as header_stamp

    _, topics = read_bag(tmp_path / "out")
    assert [header_stamp(m) for _, m in topics["/sgnet/labels"]] == [stamp(i) for i in range(N)]
    assert [t for t, _ in topics["/sgnet/labels"]] == [stamp(i) for i in range(N)]  # log time too


@pytest.mark.parametrize(("color_enc", "depth_enc"), [("bgr8", "32FC1"), ("rgba8", "16UC1"), ("bgra8", "16UC1"),
                                                      ("png", "png")])
def test_encodings_give_the_same_frames(tmp_path, demo, color_enc, depth_enc):
    path = write_bag(tmp_path / "enc", aligned_spec(demo, color_encoding=color_enc, depth_encoding=depth_enc), "mcap")
    items, _ = read_all(path)
    assert all(same_frame(a, b) for a, b in zip(items, demo, strict=True))


# --- unaligned depth: aligned as rs.align does -----------------------------------------------------


def test_unaligned_depth_is_aligned_like_rs_align_from_the_topic_or_from_tf(tmp_path):
    """The same depth/color frames, intrinsics and extrinsics as a librealsense recording
    (test_app_realsense's camera): what the bag source gives is what pyrealsense2 playback +
    rs.align give. Its depth units are 0.0005 m, the bag's millimetres: raw values x 2."""
    import test_app_realsense as rsx

    depth = [rsx.scene_depth(i) // 2 * 2 for i in range(N)]  # even: exactly representable in mm
    color = [rsx.scene_color(i) for i in range(N)]
    rec = tmp_path / "ref.db3"
    rsx.write_recording(rec, n=N, depth=lambda i: depth[i], color=lambda i: color[i])
    reference = rsx.reference_aligned(rec, N)
    cam = rsx.make_camera()
    k = {n: p.as_video_stream_profile().get_intrinsics()
         for n, p in (("d", cam.depth_profile), ("c", cam.color_profile))}
    ext = cam.depth_profile.get_extrinsics_to(cam.color_profile)

    def intr(i) -> Intrinsics:
        return Intrinsics(i.width, i.height, i.fx, i.fy, i.ppx, i.ppy)

    rot = np.asarray(ext.rotation).reshape(3, 3, order="F")
    base = dict(colors=color, depths=[d // 2 for d in depth], color_k=intr(k["c"]), depth_k=intr(k["d"]),
                rotation=rot, translation=np.asarray(ext.translation))
    tf_only = dict(extrinsics_topic=False, tf=True)
    for k_run, (storage, kw) in enumerate((("sqlite", {}), ("ros1", {}), ("ros1", tf_only), ("mcap", tf_only))):
        path = write_bag(bag_path(tmp_path, storage, f"cam{k_run}"), BagSpec(**base, **kw), storage)
        items, src = read_all(path)
        assert ("tf camera_depth_optical_frame" in src.info.description) == bool(kw)
        assert len(items) == len(reference) == N
        for item, (ref_depth, ref_color) in zip(items, reference, strict=True):
            assert (item.color == ref_color).all()
            assert item.intrinsics == intr(k["c"])
            assert (item.depth.astype(np.int64) * 2 == ref_depth).all(), storage
            assert (item.depth > 0).mean() > 0.5


def test_unaligned_depth_without_calibration_is_one_line(tmp_path, demo):
    spec = aligned_spec(demo, depth_k=demo[0].intrinsics, extrinsics_topic=False)
    path = write_bag(tmp_path / "noext", spec, "mcap")
    with pytest.raises(UserError, match=r"not aligned to color and the depth -> color extrinsics are missing "
                                        r"\(no extrinsics topic and no tf\); record the aligned depth"):
        open_source(str(path))


# --- topics -----------------------------------------------------------------------------------


def test_topics_found_in_any_namespace_and_chosen_with_topics(tmp_path, demo):
    spec = aligned_spec(demo, namespace="/front", extra_images=["/front/infra1/image_rect_raw"])
    path = write_bag(tmp_path / "ns", spec, "sqlite")
    _, src = read_all(path)
    assert src.layout.color == "/front/color/image_raw"
    assert src.layout.depth == "/front/aligned_depth_to_color/image_raw"
    items, src = read_all(path, topics="/front/infra1/image_rect_raw, /front/aligned_depth_to_color/image_raw")
    assert src.layout.color == "/front/infra1/image_rect_raw"
    assert all((a.color == b.color).all() and (a.depth == b.depth).all() for a, b in zip(items, demo, strict=True))
    assert src.notes == ["no color camera info in the bag: assuming the NYUv2 colour camera scaled to 64x48 "
                         "(record the …/color/camera_info topic for correct 3D)"]  # no /front/infra1/camera_info
    listing = ("its image topics: /front/aligned_depth_to_color/image_raw, /front/color/image_raw, "
               "/front/infra1/image_rect_raw")
    with pytest.raises(UserError, match=f"ns has no image topic /camera/color/image_raw; {listing}$"):
        open_source(str(path), SourceOptions(topics="/camera/color/image_raw,/front/aligned_depth_to_color/image_raw"))
    with pytest.raises(UserError, match="--topics takes two image topics, COLOR,DEPTH"):
        open_source(str(path), SourceOptions(topics="/front/color/image_raw"))


def test_a_bag_without_realsense_names_lists_its_image_topics(tmp_path, demo):
    spec = aligned_spec(demo, namespace="/cam", extra_images=["/left/image"], color_topic="/cam/rgbcam/imageraw")
    path = write_bag(tmp_path / "odd", spec, "mcap")
    with pytest.raises(UserError, match=r"no color image topic with a realsense-ros name .*its image topics: "
                                        r"/cam/aligned_depth_to_color/image_raw, /cam/rgbcam/imageraw, /left/image; "
                                        r"name them with --topics COLOR,DEPTH"):
        open_source(str(path))


def test_options_for_other_sources_are_one_line(tmp_path, demo):
    path = write_bag(tmp_path / "b", aligned_spec(demo), "mcap")
    with pytest.raises(UserError, match="--preset sets up a live RealSense camera .* not a ROS bag"):
        open_source(str(path), SourceOptions(preset="high-accuracy"))
    with pytest.raises(UserError, match="--preset-json sets up a live RealSense camera .* not a demo source"):
        open_source("demo", SourceOptions(preset_json="x.json"))
    with pytest.raises(UserError, match="--topics picks the image topics of a ROS bag, and this --camera is a folder"):
        open_source(str(write_folder(tmp_path / "f", demo)), SourceOptions(topics="/a,/b"))


def test_librealsense_recordings_still_go_to_librealsense(tmp_path):
    import test_app_realsense as rsx

    rec = tmp_path / "lrs.db3"
    rsx.write_recording(rec, n=2, spacing_s=0.01)
    assert source_kind(str(rec)) == "recording"


# --- pairing and damage ------------------------------------------------------------------------


def test_pairing_by_stamp_within_tolerance_and_unpaired_messages_are_bad_frames(tmp_path, demo):
    frames = demo + [DemoSource(SourceOptions(width=64, height=48)).frame(i) for i in range(N, N + 3)]
    offsets = {0: 4_000_000, 1: -9_000_000, 3: -(PERIOD_NS // 2 + 3_000_000)}  # the last: nearer color 2, taken
    spec = aligned_spec(frames, depth_offset_ns=lambda i: offsets.get(i, 0), skip_depth=frozenset({4}))
    items, src = read_all(write_bag(tmp_path / "p", spec, "mcap"))
    good = [i for i in items if isinstance(i, RGBDFrame)]
    bad = [i for i in items if isinstance(i, BadFrame)]
    assert [same_frame(g, frames[k]) for g, k in zip(good, (0, 1, 2, 5), strict=True)] == [True] * 4
    assert sorted(b.kind for b in bad) == ["color without depth", "color without depth", "depth without color"]
    assert re.search(r"^color message at \d+\.\d{3} ms has no depth message within 1[67]\.\d ms$", bad[-1].reason)
    assert [i.index for i in items] == list(range(len(items)))  # one index per event, in stamp order
    assert src.end_report() == []  # unpaired messages are no damage: the bag holds what it says


def _corrupt_db3(folder: Path, k: int) -> None:
    db = sqlite3.connect(next(folder.glob("*.db3")))
    tid = db.execute("SELECT id FROM topics WHERE name LIKE '%/color/image_raw'").fetchone()[0]
    ids = [r[0] for r in db.execute("SELECT id FROM messages WHERE topic_id = ? ORDER BY timestamp", (tid,))]
    db.execute("UPDATE messages SET data = x'0001000005' WHERE id = ?", (ids[k],))
    db.commit()
    db.close()


def test_a_damaged_message_is_exit_3_or_played_around_with_allow_damaged(tmp_path, demo):
    path = write_bag(tmp_path / "dmg", aligned_spec(demo), "sqlite")
    _corrupt_db3(path, 1)
    with pytest.raises(DamagedInputError, match=r"^dmg is damaged: 1 color message could not be decoded; re-record"):
        read_all(path)
    items, src = read_all(path, allow_damaged=True)
    good = [i.device_ts_ms for i in items if isinstance(i, RGBDFrame)]
    assert good == [stamp(0) / 1e6, stamp(2) / 1e6]
    kinds = sorted(i.kind for i in items if isinstance(i, BadFrame))
    assert kinds == ["depth without color", "unreadable color message"]
    assert src.end_report() == ["dmg is damaged: 1 color message could not be decoded"]
    r = run(LIVE, ["--camera", path, "--headless", *SMALL])
    assert r.returncode == 3, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("sgnet-live: error: dmg is damaged: 1 color message"), r.stderr


@pytest.mark.parametrize(("storage", "hint"), [("ros1", "`rosbag reindex` repairs"), ("mcap", "`mcap recover`"),
                                               ("sqlite", "truncated or corrupt")])
def test_a_truncated_bag_is_one_line_naming_the_repair(tmp_path, demo, storage, hint):
    path = write_bag(bag_path(tmp_path, storage), aligned_spec(demo), storage)
    f = path if storage == "ros1" else next(p for p in path.iterdir() if p.suffix in (".db3", ".mcap"))
    os.truncate(f, f.stat().st_size * 2 // 3)
    with pytest.raises(UserError, match=f"cannot read ROS bag {path}: .*{hint}"):
        open_source(str(path))


@pytest.mark.parametrize("tf", [True, False])
def test_a_bags_accelerometer_gives_frames_gravity_in_the_color_frame(tmp_path, demo, tf):
    tilt = 0.25
    rot = np.array([[np.cos(tilt), -np.sin(tilt), 0], [np.sin(tilt), np.cos(tilt), 0], [0, 0, 1]])  # accel -> colour
    accel = (0.3, -9.6, 1.1)
    spec = aligned_spec(demo, accel=accel, accel_rotation=rot if tf else None, tf=tf)
    items, src = read_all(write_bag(tmp_path / "imu", spec, "mcap"))
    assert src.info.description.endswith(", gravity from /camera/camera/accel/sample")
    want = -((rot if tf else np.eye(3)) @ np.asarray(accel)) / np.linalg.norm(accel)
    assert len(items) == N and all(np.allclose(i.gravity, want, atol=1e-9) for i in items)
    assert all(same_frame(a, b) for a, b in zip(items, demo, strict=True))
    assert bool(src.notes) != tf  # without tf: a note says the axes were taken as the colour camera's


def test_pairer_settles_each_message_once_and_never_waits_forever():
    from app.sources.rosbag_pairs import MAX_WAIT_NS, StampPairer

    p = StampPairer(10)
    events = []
    for stream, t in [("color", 0), ("depth", 2), ("color", 33), ("depth", 30), ("color", 66), ("depth", 60),
                      ("color", 100), ("depth", 140), ("depth", 133)]:
        events += p.feed(stream, t, (stream, t))
    events += p.finish()
    got = [(e.color and e.color.msg[1], e.depth and e.depth.msg[1]) for e in events]
    assert got == [(0, 2), (33, 30), (66, 60), (100, None), (None, 133), (None, 140)]
    p = StampPairer(10)  # depth stopped: colour messages are settled once they are MAX_WAIT_NS old
    p.feed("depth", 0, "d")
    settled = [e for t in range(0, 3 * MAX_WAIT_NS, MAX_WAIT_NS // 4) for e in p.feed("color", t, t)]
    assert settled and all(e.depth is None for e in settled[1:]) and settled[0].depth is not None


def test_realtime_paces_by_the_header_stamps(tmp_path, demo):
    import time

    path = write_bag(tmp_path / "rt", aligned_spec(demo), "mcap")
    src = open_source(str(path), SourceOptions(realtime=True))
    assert src.info.live
    t0 = time.monotonic()
    with src:
        items = list(src)
    assert len(items) == N and time.monotonic() - t0 >= (N - 1) * PERIOD_NS / 1e9 * 0.95


def test_a_ros2_folder_whose_recorder_was_killed_is_read_from_its_storage_file(tmp_path, demo):
    path = write_bag(tmp_path / "killed", aligned_spec(demo), "sqlite")
    (path / "metadata.yaml").unlink()  # ros2 bag record writes it last
    assert source_kind(str(path)) == "rosbag"
    items, src = read_all(path)
    assert all(same_frame(a, b) for a, b in zip(items, demo, strict=True))
    assert src.notes == ["killed has no metadata.yaml (its recorder was stopped before writing it): "
                         "reading killed.db3 directly"]


def test_an_unclosed_mcap_plays_its_whole_records_with_allow_damaged(tmp_path):
    """`ros2 bag record -s mcap` killed: no summary, no footer, the last chunk cut. rosbags writes a
    chunk per MiB: 12 frames of 320x240 make four, and two thirds of the file keep two whole."""
    demo = DemoSource(SourceOptions())
    frames = [demo.frame(i) for i in range(12)]
    path = write_bag(tmp_path / "run", aligned_spec(frames), "mcap")
    f = path / "run.mcap"
    os.truncate(f, f.stat().st_size * 2 // 3)
    with pytest.raises(UserError, match=r"File end magic is invalid \(the recording was not closed: `mcap recover` "
                                        r"repairs it, or --allow-damaged plays what it holds\)"):
        open_source(str(f))
    items, src = read_all(f, allow_damaged=True)
    good = [i for i in items if isinstance(i, RGBDFrame)]
    assert 2 <= len(good) < 12 and all(same_frame(a, b) for a, b in zip(good, frames, strict=False))
    assert [i.index for i in good] == list(range(len(good)))
    (line,) = src.end_report()
    assert re.fullmatch(r"run.mcap is damaged: it was not closed \(no summary; the last \d+ bytes hold no whole "
                        r"record\); \d+ color and \d+ depth messages could be read", line), line
