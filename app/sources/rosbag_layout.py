"""Which topics of a ROS bag are the color and depth images, and what calibrates them.

realsense-ros names (ROS 2: `/camera/camera/...`, ROS 1: `/camera/...`, any namespace):
color `<ns>/color/image_raw`; depth aligned to color `<ns>/aligned_depth_to_color/image_raw`
(preferred), else `<ns>/depth/image_rect_raw`, which needs `<ns>/depth/camera_info` and the
depth -> color extrinsics (`<ns>/extrinsics/depth_to_color`, or the tf tree between the two
images' frames). `…/compressed` / `…/compressedDepth` image_transport topics are taken when the
raw ones are missing. Camera info lives next to each image topic (`<ns>/color/camera_info`); the
accelerometer, when recorded, on `<ns>/accel/sample` or `<ns>/imu`.
`--topics COLOR,DEPTH` names them instead; a name the bag does not have is one line that lists
the image topics it has.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import UserError
from app.sources.rosbag_file import TopicInfo
from app.sources.rosbag_msgs import IMAGE_TYPES

COLOR_SUFFIXES = ("/color/image_raw", "/color/image_raw/compressed")
ALIGNED_SUFFIXES = ("/aligned_depth_to_color/image_raw", "/aligned_depth_to_color/image_raw/compressedDepth")
DEPTH_SUFFIXES = ("/depth/image_rect_raw", "/depth/image_rect_raw/compressedDepth")
TF_TOPICS = ("/tf_static", "/tf")
TF_TYPE = "tf2_msgs/msg/TFMessage"
IMU_TYPE = "sensor_msgs/msg/Imu"
IMU_SUFFIXES = ("/accel/sample", "/imu")  # realsense-ros: the accelerometer alone, or united with the gyro


@dataclass(frozen=True)
class BagLayout:
    color: str
    depth: str
    aligned: bool  # depth is on the color camera's pixels already
    color_info: str | None  # CameraInfo topics, None when the bag has none
    depth_info: str | None
    extrinsics: str | None  # realsense-ros' depth_to_color Extrinsics topic, if there
    tf: tuple[str, ...]  # tf topics present, for extrinsics from the tf tree
    imu: str | None = None  # the camera's accelerometer (sensor_msgs/Imu), for gravity
    notes: tuple[str, ...] = ()


def image_topics(topics: dict[str, TopicInfo]) -> list[str]:
    return sorted(n for n, t in topics.items() if t.msgtype in IMAGE_TYPES)


def info_topic(image_topic: str) -> str:
    """`<ns>/color/image_raw[/compressed]` -> `<ns>/color/camera_info`."""
    base = image_topic
    for suffix in ("/compressed", "/compressedDepth"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base.rpartition("/")[0] + "/camera_info"


def _namespace(topic: str) -> str:
    """The camera's namespace: everything before `/color/`, `/depth/` or `/aligned_depth_to_color/`."""
    for part in ("/aligned_depth_to_color/", "/color/", "/depth/"):
        if part in topic:
            return topic[: topic.index(part)]
    return topic.rpartition("/")[0]


def _with_suffix(images: list[str], suffixes: tuple[str, ...], namespace: str | None = None) -> list[str]:
    """Topics ending with the first suffix that any has, in the namespace when given."""
    for suffix in suffixes:
        found = [t for t in images if t.endswith(suffix) and (namespace is None or t[: -len(suffix)] == namespace)]
        if found:
            return found
    return []


def _listing(images: list[str]) -> str:
    return ", ".join(images) if images else "none"


def find_layout(name: str, topics: dict[str, TopicInfo], chosen: str | None = None) -> BagLayout:
    """The color/depth topics (realsense-ros names, or `chosen` = "COLOR,DEPTH") and their calibration."""
    images = image_topics(topics)
    notes: list[str] = []
    if chosen is not None:
        color, depth = _parse_topics(chosen, images, name)
        aligned = "aligned_depth_to_color" in depth
    else:
        colors = _with_suffix(images, COLOR_SUFFIXES)
        if not colors:
            raise UserError(f"{name} has no color image topic with a realsense-ros name (…/color/image_raw); "
                            f"its image topics: {_listing(images)}; name them with --topics COLOR,DEPTH")
        color = colors[0]
        if len(colors) > 1:
            notes.append(f"{name} holds several cameras ({', '.join(colors)}): using {color}; "
                         "--topics COLOR,DEPTH picks another")
        ns = _namespace(color)
        aligned_t = _with_suffix(images, ALIGNED_SUFFIXES, ns)
        raw_t = _with_suffix(images, DEPTH_SUFFIXES, ns)
        if not aligned_t and not raw_t:
            raise UserError(f"{name} has no depth image topic for {color} (…/aligned_depth_to_color/image_raw or "
                            f"…/depth/image_rect_raw); its image topics: {_listing(images)}; "
                            "name them with --topics COLOR,DEPTH")
        aligned = bool(aligned_t)
        depth = (aligned_t or raw_t)[0]
    ns = _namespace(depth)
    ext = f"{ns}/extrinsics/depth_to_color"
    return BagLayout(
        color=color,
        depth=depth,
        aligned=aligned,
        color_info=info_topic(color) if info_topic(color) in topics else None,
        depth_info=info_topic(depth) if info_topic(depth) in topics else None,
        extrinsics=ext if ext in topics else None,
        tf=tuple(t for t in TF_TOPICS if t in topics and topics[t].msgtype == TF_TYPE),
        imu=next((t for t in (_namespace(color) + s for s in IMU_SUFFIXES)
                  if t in topics and topics[t].msgtype == IMU_TYPE), None),
        notes=tuple(notes),
    )


def _parse_topics(chosen: str, images: list[str], name: str) -> tuple[str, str]:
    parts = [p.strip() for p in chosen.split(",")]
    if len(parts) != 2 or not all(parts):
        raise UserError(f"--topics takes two image topics, COLOR,DEPTH (e.g. /camera/camera/color/image_raw,"
                        f"/camera/camera/aligned_depth_to_color/image_raw), got '{chosen}'")
    missing = [p for p in parts if p not in images]
    if missing:
        raise UserError(f"{name} has no image topic {missing[0]}; its image topics: {_listing(images)}")
    if parts[0] == parts[1]:
        raise UserError(f"--topics names {parts[0]} twice: give the color topic, then the depth topic")
    return parts[0], parts[1]
