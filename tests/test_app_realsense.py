"""Live camera, recording playback and `sgnet record`, against real librealsense.

Recordings are written by librealsense itself (software_device + recorder -> .db3), with
depth and color at different resolutions and a non-trivial extrinsic between them; the live
path runs on a software_device handed to the source in place of a USB camera.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

rs = pytest.importorskip("pyrealsense2")


from app.errors import UserError  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from app.sources import FilterOptions, SourceOptions, open_source  # noqa: E402
from app.sources.realsense import RealSenseSource  # noqa: E402
from app.sources.recording import RecordingSource, sniff_recording  # noqa: E402
from sgnet.frames import RGBDFrame  # noqa: E402

DEPTH_UNITS = 0.0005  # not the usual 0.001, so a test can tell it was read from the file
DEPTH_SIZE = (64, 48)
COLOR_SIZE = (80, 60)
N_FRAMES = 6


def _intrinsics(w: int, h: int, fx: float, fy: float, cx: float, cy: float):
    i = rs.intrinsics()
    i.width, i.height, i.fx, i.fy, i.ppx, i.ppy = w, h, fx, fy, cx, cy
    i.model = rs.distortion.none
    i.coeffs = [0.0] * 5
    return i


def _stream(kind, uid: int, size: tuple[int, int], fmt, bpp: int, intr):
    s = rs.video_stream()
    s.type, s.index, s.uid = kind, 0, uid
    s.width, s.height, s.fps, s.bpp, s.fmt, s.intrinsics = size[0], size[1], 30, bpp, fmt, intr
    return s


@dataclass
class SoftCamera:
    """A pyrealsense2 software_device with a depth and a color sensor."""

    device: object
    depth_sensor: object
    color_sensor: object
    depth_profile: object
    color_profile: object
    depth_size: tuple[int, int]
    color_size: tuple[int, int]

    def push(self, i: int, depth: np.ndarray, color: np.ndarray, ts_ms: float, domain=None) -> None:
        domain = domain or rs.timestamp_domain.hardware_clock
        for sensor, prof, pix, bpp in (
            (self.depth_sensor, self.depth_profile, depth, 2),
            (self.color_sensor, self.color_profile, color, 3),
        ):
            f = rs.software_video_frame()
            f.pixels = np.ascontiguousarray(pix)
            f.stride = pix.shape[1] * bpp
            f.bpp = bpp
            f.timestamp = ts_ms
            f.domain = domain
            f.frame_number = i
            f.profile = prof.as_video_stream_profile()
            if bpp == 2:
                f.depth_units = DEPTH_UNITS
            sensor.on_video_frame(f)


def make_camera(depth_size=DEPTH_SIZE, color_size=COLOR_SIZE, rotated: bool = True, color_format=None) -> SoftCamera:
    dev = rs.software_device()
    dev.register_info(rs.camera_info.name, "Software D4xx")
    dev.register_info(rs.camera_info.serial_number, "0042")
    ds, cs = dev.add_sensor("Depth"), dev.add_sensor("Color")
    dw, dh = depth_size
    cw, ch = color_size
    depth_intr = _intrinsics(dw, dh, 0.8 * dw, 0.8 * dw, dw / 2 - 0.5, dh / 2 - 0.5)
    color_intr = _intrinsics(cw, ch, 0.9 * cw, 0.9 * cw, cw / 2 + 1.5, ch / 2 - 2.0)
    dp = ds.add_video_stream(_stream(rs.stream.depth, 0, depth_size, rs.format.z16, 2, depth_intr), True)
    fmt = color_format or rs.format.rgb8
    cp = cs.add_video_stream(_stream(rs.stream.color, 1, color_size, fmt, 3, color_intr), True)
    ds.add_read_only_option(rs.option.depth_units, DEPTH_UNITS)
    ext = rs.extrinsics()
    a = 0.06 if rotated else 0.0  # a small yaw and a 4 cm baseline
    ext.rotation = [np.cos(a), 0.0, -np.sin(a), 0.0, 1.0, 0.0, np.sin(a), 0.0, np.cos(a)]  # column-major
    ext.translation = [0.04, 0.005, 0.0]
    dp.register_extrinsics_to(cp, ext)
    dev.create_matcher(rs.matchers.dlr_c)
    return SoftCamera(dev, ds, cs, dp, cp, depth_size, color_size)


def scene_depth(i: int, size=DEPTH_SIZE) -> np.ndarray:
    """A slanted plane 1.0-1.6 m away with a box in front, moving with i (raw units of DEPTH_UNITS)."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    metres = 1.0 + 0.6 * x / w
    box = (abs(x - (w // 3 + i)) < w // 6) & (abs(y - h // 2) < h // 5)
    metres = np.where(box, 0.7, metres)
    d = np.rint(metres / DEPTH_UNITS).astype(np.uint16)
    d[:2, :] = 0  # a band without data, as real sensors have
    return d


def scene_color(i: int, size=COLOR_SIZE) -> np.ndarray:
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 3 + i) % 256, (y * 4) % 256, np.full_like(x, 40 * i % 256)], -1).astype(np.uint8)


def write_recording(path, n: int = N_FRAMES, color_format=None, depth=scene_depth, color=scene_color,
                    rotated: bool = True, spacing_s: float = 0.03) -> None:
    cam = make_camera(rotated=rotated, color_format=color_format)
    rec = rs.recorder(str(path), cam.device)
    sensors = rec.query_sensors()
    sensors[0].open(cam.depth_profile)
    sensors[1].open(cam.color_profile)
    for s in sensors:
        s.start(lambda f: None)
    for i in range(n):
        cam.push(i, depth(i), color(i), ts_ms=i * 1000.0 / 30)
        time.sleep(spacing_s)  # keep each depth/color pair apart in the file's time line, as a camera does
    for s in sensors:
        s.stop()
        s.close()
    del sensors, rec  # the recorder finalizes the file when released


@pytest.fixture(scope="session")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "scene.db3"
    write_recording(path)
    return path


def reference_aligned(path, frames: int, attempts: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """(aligned depth, color) of each of the recording's `frames` framesets, straight from pyrealsense2
    playback + rs.align.

    On a busy machine the pipeline's syncer may put a colour frame with the previous frame's depth
    (different frame numbers in one frameset) or drop a frameset: such a reference is no reference,
    so it is made again."""
    for _ in range(attempts):
        out, paired = _playback_aligned(path)
        if paired and len(out) == frames:
            return out
    raise AssertionError(f"pyrealsense2 playback did not give {frames} whole framesets in {attempts} tries")


def _playback_aligned(path) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    ctx = rs.context()
    pb = ctx.load_device(str(path))
    pb.set_real_time(False)
    pipe = rs.pipeline(ctx)
    pipe.set_device(pb)
    pipe.start(rs.config())
    align = rs.align(rs.stream.color)
    out, paired = [], True
    while True:
        ok, fs = pipe.try_wait_for_frames(300)
        if not ok:
            if pb.current_status() == rs.playback_status.stopped:
                break
            continue
        paired &= fs.get_depth_frame().get_frame_number() == fs.get_color_frame().get_frame_number()
        a = align.process(fs)
        out.append((np.array(a.get_depth_frame().get_data()), np.array(a.get_color_frame().get_data())))
    pipe.stop()
    return out, paired


def read_all(source) -> list:
    with source:
        return list(source)


# --- recordings ---------------------------------------------------------------------------


def test_recording_is_db3_by_content(recording):
    assert sniff_recording(recording) == "db3"


def test_playback_yields_every_frame_aligned_like_rs_align(recording):
    src = open_source(str(recording))
    assert isinstance(src, RecordingSource)
    frames = read_all(src)
    ref = reference_aligned(recording, N_FRAMES)
    assert len(frames) == N_FRAMES == len(ref)
    assert [f.index for f in frames] == list(range(N_FRAMES))
    for f, (ref_depth, ref_color) in zip(frames, ref, strict=True):
        assert isinstance(f, RGBDFrame)
        assert f.depth.shape == (COLOR_SIZE[1], COLOR_SIZE[0])  # depth is in the color camera now
        np.testing.assert_array_equal(f.depth, ref_depth)
        np.testing.assert_array_equal(f.color, ref_color)
        assert (f.depth > 0).mean() > 0.5
    # The color data and order survive the round trip (PNG-compressed in .db3, lossless).
    for i, f in enumerate(frames):
        np.testing.assert_array_equal(f.color, scene_color(i))


def test_alignment_uses_the_recorded_extrinsics(recording):
    """The aligned depth is not the raw depth resized: the recorded baseline/rotation moved it."""
    import cv2

    f = read_all(open_source(str(recording)))[0]
    naive = cv2.resize(scene_depth(0), COLOR_SIZE, interpolation=cv2.INTER_NEAREST)
    both = (f.depth > 0) & (naive > 0)
    assert both.mean() > 0.3
    assert (f.depth[both] != naive[both]).mean() > 0.2


def test_intrinsics_and_depth_scale_come_from_the_file(recording):
    frames = read_all(open_source(str(recording)))
    k = frames[0].intrinsics
    cw, ch = COLOR_SIZE
    assert (k.width, k.height) == COLOR_SIZE
    assert k.fx == pytest.approx(0.9 * cw) and k.fy == pytest.approx(0.9 * cw)
    assert k.cx == pytest.approx(cw / 2 + 1.5) and k.cy == pytest.approx(ch / 2 - 2.0)
    assert all(f.depth_scale == pytest.approx(DEPTH_UNITS, rel=1e-6) for f in frames)
    # the box at 0.7 m shows up as 0.7 m after alignment
    assert np.isclose(frames[0].depth_m()[frames[0].depth > 0].min(), 0.7, atol=0.01)


def test_bgr_recording_comes_out_rgb(tmp_path):
    path = tmp_path / "bgr.db3"
    write_recording(path, n=2, color_format=rs.format.bgr8)  # the pixels pushed are taken as BGR
    frames = read_all(open_source(str(path)))
    assert len(frames) == 2
    np.testing.assert_array_equal(frames[1].color, scene_color(1)[:, :, ::-1])


def test_misnamed_recording_is_detected_by_content(recording, tmp_path):
    renamed = tmp_path / "scene.bag"
    shutil.copyfile(recording, renamed)
    assert sniff_recording(renamed) == "db3"
    src = open_source(str(renamed))
    link_dir = Path(src._tmpdir)  # librealsense gets a correctly named link to the file
    assert link_dir.is_dir()
    frames = read_all(src)
    assert len(frames) == N_FRAMES
    assert not link_dir.exists()  # cleaned up when the source closed


def test_slow_consumer_loses_nothing(recording):
    """Lossless playback: a consumer far slower than 30 FPS still gets every frame, in order."""
    indices = []
    with open_source(str(recording)) as src:
        for f in src:
            indices.append(f.index)
            time.sleep(0.08)
    assert indices == list(range(N_FRAMES))


def test_realtime_playback_is_a_live_source(recording):
    src = open_source(str(recording), SourceOptions(realtime=True))
    assert src.info.live and not open_source(str(recording)).info.live


def test_recording_through_the_pipeline(recording):
    class Fake:
        def segment(self, frame):
            from sgnet.frames import Segmentation

            return Segmentation(frame, (frame.depth > 0).astype(np.uint8), {"model": 1.0})

    result = Pipeline(open_source(str(recording)), Fake()).run()
    assert result.error is None and result.reason == "end of stream"
    assert result.stats.frames == N_FRAMES and result.stats.bad_frames == 0


@pytest.mark.parametrize(
    "content, message",
    [
        (b"hello, not a recording", "is not a RealSense recording"),
        (b"", "is not a RealSense recording"),
        (b"#ROSBAG V2.0\n\x00\x01garbage", "cannot read recording"),
        (b"SQLite format 3\x00" + b"\x00" * 200, "cannot read recording"),
    ],
)
def test_bad_recordings_are_one_clear_error(tmp_path, content, message):
    p = tmp_path / "bad.db3"
    p.write_bytes(content)
    with pytest.raises(UserError, match=message):
        open_source(str(p))


def test_truncated_recording_is_one_clear_error(recording, tmp_path):
    data = recording.read_bytes()
    p = tmp_path / "cut.db3"
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(UserError, match="cannot read recording .*truncated or corrupt"):
        open_source(str(p))


def test_recording_without_color_is_rejected(tmp_path):
    cam = make_camera()
    path = tmp_path / "depth_only.db3"
    rec = rs.recorder(str(path), cam.device)
    depth = rec.query_sensors()[0]
    depth.open(cam.depth_profile)
    depth.start(lambda f: None)
    cam.push(0, scene_depth(0), scene_color(0), 0.0)
    depth.stop()
    depth.close()
    del depth, rec
    with pytest.raises(UserError, match="no color stream"):
        open_source(str(path))


# --- live camera (a software_device in place of USB hardware) ------------------------------


class Feeder:
    """Pushes frames into a SoftCamera at `hz` with system-time stamps, like a live camera."""

    def __init__(self, cam: SoftCamera, hz: float = 60.0) -> None:
        self.cam, self.hz, self.sent = cam, hz, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            i = self.sent
            self.cam.push(i, scene_depth(i, self.cam.depth_size), scene_color(i, self.cam.color_size),
                          ts_ms=time.time() * 1000.0, domain=rs.timestamp_domain.global_time)
            self.sent += 1
            time.sleep(1.0 / self.hz)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def test_live_source_reads_intrinsics_scale_and_system_clock():
    cam = make_camera(depth_size=(64, 48), color_size=(64, 48))
    src = RealSenseSource(options=SourceOptions(width=64, height=48, fps=30), device=cam.device)
    assert src.info.live and "Software D4xx" in src.info.description
    got = []
    with Feeder(cam), src:
        for f in src:
            got.append(f)
            if len(got) == 5:
                break
    assert all(isinstance(f, RGBDFrame) for f in got)
    f = got[-1]
    assert f.depth_scale == pytest.approx(DEPTH_UNITS, rel=1e-6)
    assert (f.intrinsics.fx, f.intrinsics.cx) == (pytest.approx(0.9 * 64), pytest.approx(64 / 2 + 1.5))
    assert src.info.clock == "system"
    assert abs(time.time() * 1000.0 - f.device_ts_ms) < 5000


def test_live_source_with_all_filters_keeps_color_resolution():
    cam = make_camera(depth_size=(64, 48), color_size=(64, 48))
    filters = FilterOptions(decimation=2, spatial=True, temporal=True, hole_filling=True,
                            min_distance_m=0.2, max_distance_m=1.5)
    src = RealSenseSource(options=SourceOptions(width=64, height=48, fps=30, filters=filters), device=cam.device)
    with Feeder(cam), src:
        frames = []
        for f in src:
            frames.append(f)
            if len(frames) == 4:
                break
    f = frames[-1]
    assert isinstance(f, RGBDFrame) and f.depth.shape == (48, 64)
    assert f.depth_m().max() <= 1.5 + 1e-3  # the threshold filter cut the far part of the plane
    assert (f.depth > 0).mean() > 0.3


def test_live_pipeline_drops_old_frames_when_inference_is_slow():
    from sgnet.frames import Segmentation

    class Slow:
        def segment(self, frame):
            time.sleep(0.1)
            return Segmentation(frame, np.zeros(frame.depth.shape, np.uint8), {"model": 100.0})

    cam = make_camera(depth_size=(64, 48), color_size=(64, 48))
    src = RealSenseSource(options=SourceOptions(width=64, height=48, fps=30), device=cam.device)
    with Feeder(cam, hz=60):
        result = Pipeline(src, Slow(), max_frames=6).run()
    assert result.error is None and result.stats.frames == 6
    assert result.stats.drops > 0
    recs = result.stats.records
    assert recs[-1].queue_drops >= recs[0].queue_drops
    assert all(r.age_ms is not None and r.age_ms >= 0 for r in recs)  # system clock -> age known
    # newest wins: consecutive processed frames skip the ones dropped in between
    assert recs[-1].index - recs[0].index > len(recs) - 1


def test_live_profile_the_camera_lacks_is_one_clear_error():
    cam = make_camera(depth_size=(64, 48), color_size=(64, 48))
    with pytest.raises(UserError, match=r"cannot stream depth\+color at 1280x720 @ 30 FPS; pick one of: 64x48@30"):
        RealSenseSource(options=SourceOptions(width=1280, height=720, fps=30), device=cam.device)


# --- sgnet record --------------------------------------------------------------------------


def test_record_camera_writes_a_replayable_db3(tmp_path):
    from app.sources.realsense_record import record_camera

    cam = make_camera(depth_size=(64, 48), color_size=(64, 48))
    out = tmp_path / "rec.db3"
    with Feeder(cam, hz=60):
        n = record_camera(out, cam.device, 64, 48, 30, frames=5)
    assert n == 5 and out.is_file()
    assert not list(tmp_path.glob(".*partial*"))
    with sqlite3.connect(out) as db:  # both streams' images are in the file, at least 5 each
        counts = dict(db.execute(
            "SELECT t.name, COUNT(*) FROM messages m JOIN topics t ON m.topic_id = t.id "
            "WHERE t.name LIKE '%/image/data%' GROUP BY t.name"
        ).fetchall())
    assert len(counts) == 2 and min(counts.values()) >= 5, counts
    frames = [f for f in read_all(open_source(str(out))) if isinstance(f, RGBDFrame)]
    # how many pairs the playback syncer re-forms depends on thread timing on a loaded machine
    assert frames and frames[0].depth_scale == pytest.approx(DEPTH_UNITS, rel=1e-6)
    assert frames[0].color.shape == (48, 64, 3)
