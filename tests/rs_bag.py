"""Write a ROS1 `.bag` in librealsense's own layout (file format 3, as librealsense <= 2.55 wrote
it), for tests: pyrealsense2 >= 2.58 still plays `.bag` files but only writes `.db3`.

The bag container is written by `rosbags` (an independent implementation of the format); the
messages are serialized here exactly as librealsense's bundled ROS1 message classes do it
(note its `std_msgs/Header` carries a `version` string in place of `frame_id`, and
`sensor_msgs/Image` appends `depth_units` when that version is "1"). Topics, types and md5 sums
follow librealsense's `ros_writer.cpp` / `ros_file_format.h`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

# (ROS1 type, md5 sum, message definition) of each message type librealsense writes
TYPES = {
    "std_msgs/UInt32": ("304a39449588c7f8ce2df6e8001c5fce", "uint32 data\n"),
    "std_msgs/Float32": ("73fcbf46b49191e672908e50842a83d4", "float32 data\n"),
    "std_msgs/String": ("992ce8a1687cec8c8bd883ec73ca41d1", "string data\n"),
    "diagnostic_msgs/KeyValue": ("cf57fdc6617a881a88c16e768132149c", "string key\nstring value\n"),
    "realsense_msgs/StreamInfo": ("311d7e24eac31bb87271d041bf70ff7d",
                                  "uint32 fps\nstring encoding\nbool is_recommended\n"),
    "geometry_msgs/Transform": ("ac9eff44abf714214112b05d54a3cf9b",
                                "Vector3 translation\nQuaternion rotation\n"),
    "sensor_msgs/CameraInfo": ("c9a58c1b0b154e0e6da7578cb991d214", "Header header\nuint32 height\nuint32 width\n"),
    "sensor_msgs/Image": ("060021388200f6f0f447d0fcd9c64743",
                          "Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\n"
                          "uint32 step\nuint8[] data\n"),
}
STATIC_NS = 1  # librealsense's "static file info" time (ros::TIME_MIN)
START_NS = 1_000_000_000


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<I", len(b)) + b


def _header(seq: int, stamp_ms: float, version: str = "1") -> bytes:
    sec, nsec = divmod(int(round(stamp_ms * 1e6)), 1_000_000_000)
    return struct.pack("<III", seq, sec, nsec) + _str(version)


def _camera_info(w: int, h: int, fx: float, fy: float, cx: float, cy: float) -> bytes:
    k = [fx, 0, cx, 0, fy, cy, 0, 0, 1]
    r = [1.0, 0, 0, 0, 1, 0, 0, 0, 1]
    p = [fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0]
    return (_header(0, 0.0, "") + struct.pack("<II", h, w) + _str("none") + struct.pack("<I5d", 5, *[0.0] * 5)
            + struct.pack("<9d", *k) + struct.pack("<9d", *r) + struct.pack("<12d", *p)
            + struct.pack("<IIIIII?", 0, 0, 0, 0, 0, 0, False))


def _image(seq: int, stamp_ms: float, pixels: np.ndarray, encoding: str, depth_units: float) -> bytes:
    h, w = pixels.shape[:2]
    data = np.ascontiguousarray(pixels).tobytes()
    return (_header(seq, stamp_ms) + struct.pack("<II", h, w) + _str(encoding)
            + struct.pack("<BI", 0, len(data) // h) + struct.pack("<I", len(data)) + data
            + struct.pack("<f", depth_units))


def write_bag(path: str | Path, n: int, depth: Callable[[int], np.ndarray], color: Callable[[int], np.ndarray],
              depth_units: float = 0.001, fps: int = 30) -> None:
    """A recording of `n` depth (uint16 HxW) + color (uint8 HxWx3 RGB) pairs, sharing one camera
    (identity extrinsics); frame i is stamped i/fps after the start."""
    from rosbags.rosbag1 import Writer

    d0, c0 = depth(0), color(0)
    Path(path).unlink(missing_ok=True)
    with Writer(path) as bag:
        conns: dict[str, object] = {}

        def put(topic: str, msgtype: str, t_ns: int, data: bytes) -> None:
            if topic not in conns:
                md5, msgdef = TYPES[msgtype]
                pkg, _, name = msgtype.partition("/")  # rosbags names types the ROS2 way
                conns[topic] = bag.add_connection(topic, f"{pkg}/msg/{name}", msgdef=msgdef, md5sum=md5)
            bag.write(conns[topic], t_ns, data)

        put("/file_version", "std_msgs/UInt32", STATIC_NS, struct.pack("<I", 3))
        for key, value in (("Name", "Software D4xx (bag)"), ("Serial Number", "0043")):
            put("/device_0/info", "diagnostic_msgs/KeyValue", STATIC_NS, _str(key) + _str(value))
        streams = (("sensor_0", "Depth_0", "Stereo Module", d0, "mono16"),
                   ("sensor_1", "Color_0", "RGB Camera", c0, "rgb8"))
        for sensor, stream, name, first, enc in streams:
            h, w = first.shape[:2]
            prefix = f"/device_0/{sensor}/{stream}"
            put(f"/device_0/{sensor}/info", "diagnostic_msgs/KeyValue", STATIC_NS, _str("Name") + _str(name))
            put(f"{prefix}/info", "realsense_msgs/StreamInfo", STATIC_NS, struct.pack("<I", fps) + _str(enc) + b"\x01")
            put(f"{prefix}/info/camera_info", "sensor_msgs/CameraInfo", STATIC_NS,
                _camera_info(w, h, 0.9 * w, 0.9 * w, w / 2 - 0.5, h / 2 - 0.5))
            put(f"{prefix}/tf/0", "geometry_msgs/Transform", STATIC_NS, struct.pack("<7d", 0, 0, 0, 0, 0, 0, 1))
        option = "/device_0/sensor_0/option/Depth_Units"
        put(f"{option}/value", "std_msgs/Float32", STATIC_NS, struct.pack("<f", depth_units))
        put(f"{option}/description", "std_msgs/String", STATIC_NS, _str("Depth units"))
        for i in range(n):
            t_ns = START_NS + i * 1_000_000_000 // fps
            stamp_ms = i * 1000.0 / fps
            for sensor, stream, _name, _first, enc in streams:
                pixels = depth(i) if stream.startswith("Depth") else color(i)
                prefix = f"/device_0/{sensor}/{stream}/image"
                t = t_ns + (0 if enc == "mono16" else 1000)  # metadata is looked up at its image's exact time
                put(f"{prefix}/data", "sensor_msgs/Image", t,
                    _image(i, stamp_ms, pixels, enc, depth_units if enc == "mono16" else 0.0))
                for key, value in (("system_time", f"{stamp_ms:.6f}"), ("timestamp_domain", "Hardware Clock")):
                    put(f"{prefix}/metadata", "diagnostic_msgs/KeyValue", t, _str(key) + _str(value))
