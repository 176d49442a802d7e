"""D400 presets and IMU gravity, against pyrealsense2 objects built here: software devices with a
visual-preset option and an accelerometer (`add_motion_stream`), and a recording with an accel
stream written by `rs.recorder`. Bad values are one line."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

rs = pytest.importorskip("pyrealsense2")

import test_app_realsense as rsx  # noqa: E402

from app.errors import UserError  # noqa: E402
from app.gui.hha_worker import frame_hha  # noqa: E402
from app.sources import SourceOptions, open_source  # noqa: E402
from app.sources.imu import GravityTracker, down_vector  # noqa: E402
from app.sources.realsense import RealSenseSource  # noqa: E402
from sgnet.frames import RGBDFrame  # noqa: E402

TILT = 0.3  # rad about x: the motion module's axes turned against the colour camera's
MOTION_TO_COLOR = np.array([[1, 0, 0], [0, np.cos(TILT), -np.sin(TILT)], [0, np.sin(TILT), np.cos(TILT)]])
ACCEL = (0.4, -9.7, 0.9)  # a camera pitched a little: mostly "up" reaction along -y


def expected_down() -> np.ndarray:
    a = np.asarray(ACCEL)
    return -(MOTION_TO_COLOR @ a) / np.linalg.norm(a)


def add_imu(cam: rsx.SoftCamera) -> tuple[object, object]:
    """A motion sensor with an accel stream, its extrinsics to colour registered."""
    sensor = cam.device.add_sensor("Motion Module")
    st = rs.motion_stream()
    st.type, st.index, st.uid, st.fps, st.fmt = rs.stream.accel, 0, 7, 100, rs.format.motion_xyz32f
    profile = sensor.add_motion_stream(st, True)
    ext = rs.extrinsics()
    ext.rotation = [float(v) for v in MOTION_TO_COLOR.ravel(order="F")]
    ext.translation = [0.01, 0.0, 0.0]
    profile.register_extrinsics_to(cam.color_profile, ext)
    return sensor, profile


def push_accel(sensor, profile, i: int, ts_ms: float, value=ACCEL) -> None:
    f = rs.software_motion_frame()
    v = rs.vector()
    v.x, v.y, v.z = value
    f.data, f.timestamp, f.domain, f.frame_number = v, ts_ms, rs.timestamp_domain.hardware_clock, i
    f.profile = profile.as_motion_stream_profile()
    sensor.on_motion_frame(f)


def preset_camera() -> rsx.SoftCamera:
    cam = rsx.make_camera(depth_size=(64, 48), color_size=(64, 48))
    cam.depth_sensor.add_option(rs.option.visual_preset, rs.option_range(0, 6, 1, 1), True)
    return cam


# --- gravity ------------------------------------------------------------------------------------


def test_down_vector_is_minus_the_mean_accel_turned_into_the_colour_frame():
    assert np.allclose(down_vector(np.array([0.0, -9.81, 0.0]), np.eye(3)), (0.0, 1.0, 0.0))  # level: down = +y
    assert np.allclose(down_vector(np.asarray(ACCEL), MOTION_TO_COLOR), expected_down())
    assert down_vector(np.array([0.0, 0.1, 0.0]), np.eye(3)) is None  # free fall / dead sensor: no gravity
    tracker = GravityTracker(np.eye(3), window=4)
    assert tracker.down() is None
    for y in (-9.0, -9.0, -9.0, -9.0, -10.0, -10.0, -10.0, -10.0):  # only the last 4 count
        tracker.add(1.0, y, 0.0)
    assert np.allclose(tracker.down(), np.array([-1.0, 10.0, 0.0]) / np.hypot(1.0, 10.0))


def test_live_camera_with_an_imu_gives_frames_the_measured_gravity():
    cam = rsx.make_camera(depth_size=(64, 48), color_size=(64, 48))
    motion, accel = add_imu(cam)
    src = RealSenseSource(options=SourceOptions(width=64, height=48, fps=30), device=cam.device)
    assert src.info.description.endswith(", gravity from its IMU")
    stop = threading.Event()

    def feed_accel():
        i = 0
        while not stop.is_set():
            push_accel(motion, accel, i, i * 10.0)
            i += 1
            time.sleep(0.005)

    feeder = threading.Thread(target=feed_accel, daemon=True)
    got, seen = [], 0
    # the camera is started before frames are pushed: librealsense's software device can deadlock
    # when a sensor is opened while another thread pushes frames into the same device (seen in CI)
    with src, rsx.Feeder(cam):
        feeder.start()
        time.sleep(0.1)
        for f in src:
            seen += 1
            if isinstance(f, RGBDFrame) and f.gravity is not None:
                got.append(f)
            if len(got) == 3 or seen == 60:
                break
    stop.set()
    feeder.join()
    assert len(got) == 3 and np.allclose(got[-1].gravity, expected_down(), atol=1e-6)


def test_an_imu_that_will_not_start_is_said_at_the_end_and_frames_go_on_without_gravity():
    cam = rsx.make_camera(depth_size=(64, 48), color_size=(64, 48))
    motion, accel = add_imu(cam)
    motion.open(accel)  # another program holds the motion module
    src = RealSenseSource(options=SourceOptions(width=64, height=48, fps=30), device=cam.device)
    with src, rsx.Feeder(cam):  # started before frames are pushed, as above
        frames = [f for f, _ in zip(src, range(3), strict=False)]
    assert all(isinstance(f, RGBDFrame) and f.gravity is None for f in frames)
    assert src.end_report() == ["the IMU of Software D4xx (serial 0042) would not start: HHA estimated gravity "
                                "from the depth image instead"]
    motion.close()


def test_a_recording_with_an_accel_stream_gives_frames_its_gravity(tmp_path):
    cam = rsx.make_camera()
    motion, accel = add_imu(cam)
    path = tmp_path / "imu.db3"
    rec = rs.recorder(str(path), cam.device)
    sensors = rec.query_sensors()
    for s, p in zip(sensors, (cam.depth_profile, cam.color_profile, accel), strict=True):
        s.open(p)
        s.start(lambda f: None)
    for i in range(4):
        for k in range(3):
            push_accel(motion, accel, 3 * i + k, i * 1000.0 / 30 + k)
        cam.push(i, rsx.scene_depth(i), rsx.scene_color(i), ts_ms=i * 1000.0 / 30)
        time.sleep(0.03)
    for s in sensors:
        s.stop()
        s.close()
    del sensors, rec
    src = open_source(str(path))
    assert src.info.description.endswith(", gravity from its IMU")
    with src:
        frames = [f for f in src if isinstance(f, RGBDFrame)]
    assert len(frames) >= 3 and src.end_report() == []
    with_gravity = [f for f in frames if f.gravity is not None]
    # librealsense's recorder keeps no extrinsics for motion streams: the samples are in the depth
    # sensor's axes (as librealsense reports them), which depth -> colour turns
    r_dc = np.asarray(cam.depth_profile.get_extrinsics_to(cam.color_profile).rotation).reshape(3, 3, order="F")
    want = -(r_dc @ np.asarray(ACCEL)) / np.linalg.norm(ACCEL)
    assert with_gravity and np.allclose(with_gravity[-1].gravity, want, atol=1e-5)


def test_hha_uses_the_frame_gravity_when_there_is_one():
    import hha

    src = open_source("demo", SourceOptions(width=64, height=48))
    with src:
        frame = next(iter(src))
    tilted = tuple(expected_down())
    with_imu = frame_hha(RGBDFrame(frame.color, frame.depth, frame.depth_scale, frame.intrinsics, 0, gravity=tilted))
    import torch

    want = hha.depth_to_hha(torch.from_numpy(frame.depth_m()), frame.intrinsics, gravity=tilted)
    assert (with_imu == want.permute(1, 2, 0).numpy()).all()
    assert (with_imu != frame_hha(frame)).any()  # the estimate from depth is another vector


# --- presets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [("high-accuracy", rs.rs400_visual_preset.high_accuracy),
                                             ("hand", rs.rs400_visual_preset.hand),
                                             ("default", rs.rs400_visual_preset.default)])
def test_preset_sets_the_visual_preset_option(name, value):
    cam = preset_camera()
    src = RealSenseSource(options=SourceOptions(width=64, height=48, fps=30, preset=name), device=cam.device)
    assert cam.depth_sensor.get_option(rs.option.visual_preset) == int(value)
    assert src.info.description.endswith(f", preset {name}")


def test_bad_presets_are_one_line(tmp_path):
    opts = dict(width=64, height=48, fps=30)
    with pytest.raises(UserError, match=r"^unknown --preset 'ultra'; choose one of: high-accuracy, high-density, "
                                        r"medium-density, hand, default$"):
        RealSenseSource(options=SourceOptions(**opts, preset="ultra"), device=preset_camera().device)
    with pytest.raises(UserError, match=r"^Software D4xx \(serial 0042\) has no visual presets"):
        RealSenseSource(options=SourceOptions(**opts, preset="hand"), device=rsx.make_camera().device)
    good = tmp_path / "preset.json"
    good.write_text(json.dumps({"param-disparityshift": "0", "controls-laserpower": "150"}))
    with pytest.raises(UserError, match=r"cannot load --preset-json .*preset.json: it has no advanced mode"):
        RealSenseSource(options=SourceOptions(**opts, preset_json=str(good)), device=preset_camera().device)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for path, msg in ((tmp_path / "none.json", "--preset-json: no such file"), (bad, "is not JSON")):
        with pytest.raises(UserError, match=msg):
            RealSenseSource(options=SourceOptions(**opts, preset_json=str(path)), device=preset_camera().device)
    with pytest.raises(UserError, match="--preset and --preset-json both set"):
        RealSenseSource(options=SourceOptions(**opts, preset="hand", preset_json=str(good)),
                        device=preset_camera().device)
