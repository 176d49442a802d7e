"""Write realsense-ros-style bags for tests, with `rosbags` (ROS 1 .bag, ROS 2 sqlite and mcap).

Topics, types, frame ids and encodings as realsense-ros publishes them (ROS 2 node namespace
`/camera/camera`, ROS 1 `/camera`): color rgb8 `…/color/image_raw` + `…/color/camera_info`,
depth 16UC1 millimetres either aligned (`…/aligned_depth_to_color/image_raw`) or not
(`…/depth/image_rect_raw` + `…/depth/camera_info` + `…/extrinsics/depth_to_color` and/or the
static tf between the optical frames on `/tf_static`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sgnet.frames import Intrinsics

EXTRINSICS_MSG = "float64[9] rotation\nfloat64[3] translation\n"
T0_NS = 1_700_000_000_123_456_789  # an epoch stamp with every nanosecond digit in use
PERIOD_NS = 33_333_333


@dataclass
class BagSpec:
    colors: Sequence[np.ndarray]  # uint8 HxWx3 RGB
    depths: Sequence[np.ndarray]  # uint16 mm (or float32 metres with depth_encoding 32FC1)
    color_k: Intrinsics
    depth_k: Intrinsics | None = None  # None: depth is aligned to color
    rotation: np.ndarray | None = None  # depth -> color, 3x3
    translation: np.ndarray | None = None
    extrinsics_topic: bool = True
    tf: bool = False
    color_encoding: str = "rgb8"
    depth_encoding: str = "16UC1"
    depth_offset_ns: Callable[[int], int] = field(default=lambda i: 0)  # per-frame depth stamp offset
    skip_depth: frozenset[int] = frozenset()
    namespace: str | None = None
    extra_images: Sequence[str] = ()  # other image topics (a copy of the color), to be listed
    color_topic: str | None = None  # a name of the user's own in place of realsense-ros'
    accel: tuple[float, float, float] | None = None  # <ns>/accel/sample readings (m/s^2), 3 per frame
    accel_rotation: np.ndarray | None = None  # accel optical frame -> colour, in /tf_static when tf


def stamp(i: int) -> int:
    return T0_NS + i * PERIOD_NS


def write_bag(path: Path, spec: BagSpec, storage: str) -> Path:
    """storage: "ros1" (path is the .bag), "sqlite" or "mcap" (path is the bag folder)."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    ros1 = storage == "ros1"
    ts = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    ext_type = "realsense2_camera/msg/Extrinsics" if ros1 else "realsense2_camera_msgs/msg/Extrinsics"
    ext_def = ("std_msgs/Header header\n" if ros1 else "") + EXTRINSICS_MSG
    ts.register(get_types_from_msg(ext_def, ext_type))
    if ros1 and "tf2_msgs/msg/TFMessage" not in ts.fielddefs:
        ts.register(get_types_from_msg("geometry_msgs/TransformStamped[] transforms\n", "tf2_msgs/msg/TFMessage"))
    ns = spec.namespace or ("/camera" if ros1 else "/camera/camera")
    msgs = _Messages(ts, ros1)
    aligned = spec.depth_k is None
    depth_dir = "aligned_depth_to_color" if aligned else "depth"
    depth_image = f"{ns}/{depth_dir}/image_raw" if aligned else f"{ns}/depth/image_rect_raw"
    depth_frame = "camera_color_optical_frame" if aligned else "camera_depth_optical_frame"
    out: list[tuple[str, str, int, Any]] = []  # topic, type, log time, message
    if not aligned:
        rot = np.eye(3) if spec.rotation is None else spec.rotation
        t = np.zeros(3) if spec.translation is None else spec.translation
        if spec.extrinsics_topic:
            ext = msgs.extrinsics(ext_type, rot, t)
            out.append((f"{ns}/extrinsics/depth_to_color", ext_type, T0_NS - 10, ext))
    if spec.tf:
        rot = np.eye(3) if spec.rotation is None else spec.rotation
        t = np.zeros(3) if spec.translation is None else spec.translation
        out.append(("/tf_static", "tf2_msgs/msg/TFMessage", T0_NS - 10, msgs.tf_static(rot, t, spec.accel_rotation)))
    color_topic, color_type = spec.color_topic or f"{ns}/color/image_raw", "sensor_msgs/msg/Image"
    depth_type = "sensor_msgs/msg/Image"
    if spec.color_encoding == "png":  # image_transport's compressed topics
        color_topic, color_type = color_topic + "/compressed", "sensor_msgs/msg/CompressedImage"
    if spec.depth_encoding == "png":
        depth_image, depth_type = depth_image + "/compressedDepth", "sensor_msgs/msg/CompressedImage"
    for i, color in enumerate(spec.colors):
        s = stamp(i)
        out.append((color_topic, color_type, s + 2_000_000,
                    msgs.image(s, "camera_color_optical_frame", color, spec.color_encoding)))
        out.append((f"{ns}/color/camera_info", "sensor_msgs/msg/CameraInfo", s + 2_000_000,
                    msgs.camera_info(s, "camera_color_optical_frame", spec.color_k)))
        for extra in spec.extra_images:
            out.append((extra, "sensor_msgs/msg/Image", s + 2_000_000,
                        msgs.image(s, "camera_color_optical_frame", color, spec.color_encoding)))
        if spec.accel is not None:
            for k in range(3):
                out.append((f"{ns}/accel/sample", "sensor_msgs/msg/Imu", s + k * 10_000_000,
                            msgs.imu(s + k * 10_000_000, spec.accel)))
        if i in spec.skip_depth:
            continue
        ds = s + spec.depth_offset_ns(i)
        out.append((depth_image, depth_type, ds + 3_000_000,
                    msgs.image(ds, depth_frame, spec.depths[i], spec.depth_encoding)))
        out.append((f"{ns}/{depth_dir}/camera_info", "sensor_msgs/msg/CameraInfo", ds + 3_000_000,
                    msgs.camera_info(ds, depth_frame, spec.color_k if aligned else spec.depth_k)))
    out.sort(key=lambda m: m[2])
    _write(path, storage, ts, out)
    return path


def _write(path: Path, storage: str, ts: Any, out: list[tuple[str, str, int, Any]]) -> None:
    if storage == "ros1":
        from rosbags.rosbag1 import Writer as Writer1

        with Writer1(path) as w:
            conns: dict[str, Any] = {}
            for topic, typ, t, msg in out:
                if topic not in conns:
                    conns[topic] = w.add_connection(topic, typ, typestore=ts)
                w.write(conns[topic], t, ts.serialize_ros1(msg, typ))
        return
    from rosbags.rosbag2 import StoragePlugin, Writer

    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as w:
        conns = {}
        for topic, typ, t, msg in out:
            if topic not in conns:
                conns[topic] = w.add_connection(topic, typ, typestore=ts)
            w.write(conns[topic], t, ts.serialize_cdr(msg, typ))


class _Messages:
    def __init__(self, ts: Any, ros1: bool) -> None:
        self.ts, self.ros1 = ts, ros1
        self.seq = 0

    def header(self, stamp_ns: int, frame_id: str) -> Any:
        sec, nanosec = divmod(stamp_ns, 1_000_000_000)
        t = self.ts.types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)
        h = self.ts.types["std_msgs/msg/Header"]
        self.seq += 1
        return h(seq=self.seq, stamp=t, frame_id=frame_id) if self.ros1 else h(stamp=t, frame_id=frame_id)

    def image(self, stamp_ns: int, frame_id: str, pixels: np.ndarray, encoding: str) -> Any:
        if encoding == "png":
            return self.compressed(stamp_ns, frame_id, pixels)
        px = pixels
        if encoding in ("bgr8", "bgra8"):
            px = px[:, :, ::-1]
        if encoding in ("rgba8", "bgra8"):
            px = np.concatenate([px, np.full(px.shape[:2] + (1,), 255, np.uint8)], axis=2)
        if encoding == "32FC1":
            px = np.where(pixels > 0, pixels.astype(np.float32) / 1000.0, np.nan).astype("<f4")
        px = np.ascontiguousarray(px)
        h, w = px.shape[:2]
        data = np.frombuffer(px.tobytes(), dtype=np.uint8)
        return self.ts.types["sensor_msgs/msg/Image"](header=self.header(stamp_ns, frame_id), height=h, width=w,
                                                      encoding=encoding, is_bigendian=0, step=data.size // h,
                                                      data=data)

    def compressed(self, stamp_ns: int, frame_id: str, pixels: np.ndarray) -> Any:
        """image_transport's PNG: color as "rgb8; png compressed bgr8", depth as compressedDepth
        (a 12-byte config header, then the 16-bit PNG)."""
        import cv2

        depth = pixels.ndim == 2
        ok, png = cv2.imencode(".png", pixels if depth else pixels[:, :, ::-1])
        assert ok
        data = np.frombuffer(png.tobytes(), np.uint8)
        if depth:
            data = np.concatenate([np.zeros(12, np.uint8), data])
        fmt = "16UC1; compressedDepth png" if depth else "rgb8; png compressed bgr8"
        return self.ts.types["sensor_msgs/msg/CompressedImage"](header=self.header(stamp_ns, frame_id), format=fmt,
                                                                data=data)

    def camera_info(self, stamp_ns: int, frame_id: str, k: Intrinsics) -> Any:
        kk = np.array([k.fx, 0, k.cx, 0, k.fy, k.cy, 0, 0, 1], dtype=np.float64)
        p = np.array([k.fx, 0, k.cx, 0, 0, k.fy, k.cy, 0, 0, 0, 1, 0], dtype=np.float64)
        roi = self.ts.types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                                 do_rectify=False)
        fields = dict(header=self.header(stamp_ns, frame_id), height=k.height, width=k.width,
                      distortion_model="plumb_bob", binning_x=0, binning_y=0, roi=roi)
        if self.ros1:
            fields.update(D=np.zeros(5), K=kk, R=np.eye(3).ravel(), P=p)
        else:
            fields.update(d=np.zeros(5), k=kk, r=np.eye(3).ravel(), p=p)
        return self.ts.types["sensor_msgs/msg/CameraInfo"](**fields)

    def extrinsics(self, typ: str, rot: np.ndarray, t: np.ndarray) -> Any:
        fields = dict(rotation=np.asarray(rot, np.float64).ravel(order="F"), translation=np.asarray(t, np.float64))
        if self.ros1:
            fields["header"] = self.header(0, "depth_to_color_extrinsics")
        return self.ts.types[typ](**fields)

    def imu(self, stamp_ns: int, accel: tuple[float, float, float]) -> Any:
        tfs = self.ts.types
        zero = tfs["geometry_msgs/msg/Vector3"](x=0.0, y=0.0, z=0.0)
        return tfs["sensor_msgs/msg/Imu"](
            header=self.header(stamp_ns, "camera_accel_optical_frame"),
            orientation=tfs["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
            orientation_covariance=np.array([-1.0] + [0.0] * 8), angular_velocity=zero,
            angular_velocity_covariance=np.zeros(9),
            linear_acceleration=tfs["geometry_msgs/msg/Vector3"](x=accel[0], y=accel[1], z=accel[2]),
            linear_acceleration_covariance=np.zeros(9))

    def tf_static(self, rot: np.ndarray, t: np.ndarray, accel_rot: np.ndarray | None = None) -> Any:
        """camera_link -> both optical frames, so that depth -> color is (rot, t) through the tree."""
        from scipy.spatial.transform import Rotation

        tfs = self.ts.types
        base = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], dtype=np.float64)  # camera_link <- optical
        color_pose = (base, np.array([0.0, 0.015, 0.0]))
        # depth pose in camera_link: p_link = Rc (rot p_d + t) + tc
        depth_pose = (color_pose[0] @ rot, color_pose[0] @ t + color_pose[1])

        def transform(child: str, pose: tuple[np.ndarray, np.ndarray]) -> Any:
            q = Rotation.from_matrix(pose[0]).as_quat()  # x, y, z, w
            return tfs["geometry_msgs/msg/TransformStamped"](
                header=self.header(T0_NS, "camera_link"), child_frame_id=child,
                transform=tfs["geometry_msgs/msg/Transform"](
                    translation=tfs["geometry_msgs/msg/Vector3"](x=pose[1][0], y=pose[1][1], z=pose[1][2]),
                    rotation=tfs["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3])))

        transforms = [transform("camera_color_optical_frame", color_pose),
                      transform("camera_depth_optical_frame", depth_pose)]
        if accel_rot is not None:  # accel pose in camera_link: p_link = Rc (accel_rot p_a) + tc
            transforms.append(transform("camera_accel_optical_frame",
                                        (color_pose[0] @ accel_rot, color_pose[1] + np.array([0.0, 0.0, 0.01]))))
        return tfs["tf2_msgs/msg/TFMessage"](transforms=transforms)
