"""ROS messages -> numpy and the app's types: images, camera info, extrinsics, stamps.

Color: `sensor_msgs/Image` in rgb8, bgr8, rgba8 or bgra8, or a `sensor_msgs/CompressedImage`
(JPEG/PNG, decoded by OpenCV) -> uint8 HxWx3 RGB. Depth: 16UC1 (or mono16; millimetres, as
realsense-ros publishes it, so depth_scale 0.001) or 32FC1 (metres; stored as millimetres), or
image_transport's `compressedDepth` PNG -> uint16 HxW. Rows may be padded (`step`), big-endian
data is swapped. A message that cannot be turned into pixels raises `MessageError` with the
reason, which the source counts as a bad frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.sources.rosbag_file import MessageError
from sgnet.frames import Intrinsics

MM_PER_M = 1000.0
DEPTH_SCALE = 0.001  # metres per unit of the depth the source hands on
COLOR_ENCODINGS = {"rgb8": (3, False), "bgr8": (3, True), "rgba8": (4, False), "bgra8": (4, True)}
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
COMPRESSED_DEPTH_HEADER = 12  # image_transport's compressedDepth: a 12-byte config before the PNG


def stamp_ns(msg: Any) -> int:
    """The header stamp in nanoseconds (ROS 1 `secs/nsecs` and ROS 2 `sec/nanosec` alike)."""
    st = msg.header.stamp
    return int(st.sec) * 1_000_000_000 + int(st.nanosec)


def ns_to_ms(ns: int) -> float:
    """Milliseconds: a float64 holds an epoch stamp to about 0.24 µs (`RGBDFrame.stamp_ns` keeps it exact)."""
    return ns / 1e6


def _rows(msg: Any, channels: int, itemsize: int) -> np.ndarray:
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = np.asarray(msg.data, dtype=np.uint8)
    row = w * channels * itemsize
    if h <= 0 or w <= 0 or step < row or data.size < step * h:
        raise MessageError(f"{w}x{h} image of {data.size} bytes with {step} bytes a row does not fit "
                           f"its {msg.encoding} encoding")
    return data[: step * h].reshape(h, step)[:, :row]


def is_compressed(msg: Any) -> bool:
    return hasattr(msg, "format") and not hasattr(msg, "encoding")


def color_rgb(msg: Any) -> np.ndarray:
    """uint8 HxWx3 RGB of a color Image/CompressedImage message."""
    if is_compressed(msg):
        return _decoded(msg, depth=False)
    enc = str(msg.encoding)
    if enc not in COLOR_ENCODINGS:
        raise MessageError(f"color encoding {enc} is not supported (rgb8, bgr8, rgba8, bgra8)")
    ch, bgr = COLOR_ENCODINGS[enc]
    px = _rows(msg, ch, 1).reshape(int(msg.height), int(msg.width), ch)[:, :, :3]
    return np.ascontiguousarray(px[:, :, ::-1] if bgr else px)


def depth_raw(msg: Any) -> np.ndarray:
    """uint16 HxW depth in millimetres (0 = no data) of a depth Image/CompressedImage message."""
    if is_compressed(msg):
        return _decoded(msg, depth=True)
    enc = str(msg.encoding)
    h, w = int(msg.height), int(msg.width)
    if enc in ("16UC1", "mono16"):
        dt = np.dtype(">u2" if msg.is_bigendian else "<u2")
        return _rows(msg, 1, 2).copy().view(dt).reshape(h, w).astype(np.uint16)
    if enc == "32FC1":
        dt = np.dtype(">f4" if msg.is_bigendian else "<f4")
        metres = _rows(msg, 1, 4).copy().view(dt).reshape(h, w).astype(np.float64)
        return metres_to_mm(metres)
    raise MessageError(f"depth encoding {enc} is not supported (16UC1 millimetres, 32FC1 metres)")


def metres_to_mm(metres: np.ndarray) -> np.ndarray:
    """Float metres -> uint16 mm; NaN, inf, <= 0 and beyond 65.535 m are "no data" (0)."""
    mm = np.rint(np.nan_to_num(metres, nan=0.0, posinf=0.0, neginf=0.0) * MM_PER_M)
    mm[(mm <= 0) | (mm > np.iinfo(np.uint16).max)] = 0
    return mm.astype(np.uint16)


def _decoded(msg: Any, depth: bool) -> np.ndarray:
    try:
        import cv2
    except ImportError:  # pragma: no cover - opencv is a dependency of the app
        raise MessageError("compressed images need OpenCV (pip install opencv-python-headless)") from None
    fmt = str(msg.format)
    data = np.asarray(msg.data, dtype=np.uint8)
    if depth:
        if "compressedDepth" in fmt:
            if not fmt.startswith("16UC1"):
                raise MessageError(f"compressed depth format '{fmt}' is not supported (16UC1 compressedDepth png)")
            data = data[COMPRESSED_DEPTH_HEADER:]
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if img is None or img.ndim != 2 or img.dtype != np.uint16:
            raise MessageError(f"compressed depth ('{fmt}') did not decode to a 16-bit image")
        return img
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise MessageError(f"compressed color image ('{fmt}') could not be decoded")
    return np.ascontiguousarray(img[:, :, ::-1])


def camera_intrinsics(msg: Any) -> Intrinsics:
    """The pinhole intrinsics of a `sensor_msgs/CameraInfo` (K; 0-based pixel centres, as
    realsense-ros copies librealsense's). Distortion is ignored, as everywhere in the app."""
    k = np.asarray(getattr(msg, "k", None) if hasattr(msg, "k") else msg.K, dtype=np.float64)
    try:
        return Intrinsics(int(msg.width), int(msg.height), float(k[0]), float(k[4]), float(k[2]), float(k[5]))
    except (ValueError, IndexError) as e:
        raise MessageError(f"camera info is unusable ({e})") from None


def extrinsics_of(msg: Any) -> tuple[np.ndarray, np.ndarray]:
    """(R 3x3, t metres) of a realsense-ros `Extrinsics` message: p_to = R p_from + t (its rotation
    is librealsense's column-major array)."""
    rot = np.asarray(msg.rotation, dtype=np.float64)
    t = np.asarray(msg.translation, dtype=np.float64)
    if rot.size != 9 or t.size != 3 or not (np.isfinite(rot).all() and np.isfinite(t).all()):
        raise MessageError("extrinsics message is unusable")
    return rot.reshape(3, 3, order="F"), t
