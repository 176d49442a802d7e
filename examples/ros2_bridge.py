"""Republish a `sgnet-live --publish URL` stream as ROS 2 topics (for people who have ROS 2).

    source /opt/ros/jazzy/setup.bash          # or humble, iron, ...; rclpy and sensor_msgs come from ROS
    sgnet-live --camera realsense --headless --publish tcp://127.0.0.1:5555 --publish-fields depth &
    python examples/ros2_bridge.py tcp://127.0.0.1:5555

Topics: /sgnet/labels (sensor_msgs/Image, mono8 class ids, 255 = no prediction),
/sgnet/camera_info (sensor_msgs/CameraInfo), and /sgnet/depth (16UC1 raw units) or
/sgnet/confidence (mono8, x 255) when the stream carries them: the names, stamps (the source
frame's device time) and frame_id of `sgnet-live --save-rosbag`, so a live run and a bag look
the same to a ROS graph. The class names are in the node's `class_names` parameter.

Untested here: it needs a ROS 2 installation (rclpy cannot be installed from PyPI), which this
project's machines do not have. It is kept small on purpose; the schema it reads is tested.
"""

from __future__ import annotations

import array
import sys

import numpy as np
import rclpy
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from app.sinks.rosbag_out import FRAME_ID, stamp_ns
from app.stream import LabelsMessage, subscribe


def image(data: np.ndarray, encoding: str, header) -> Image:  # noqa: ANN001 - a std_msgs Header
    out = Image(header=header, height=data.shape[0], width=data.shape[1], encoding=encoding, is_bigendian=0)
    out.step = data.shape[1] * data.itemsize
    out.data = array.array("B", np.ascontiguousarray(data).tobytes())  # rclpy's fast path for uint8[]
    return out


def camera_info(msg: LabelsMessage, header) -> CameraInfo:  # noqa: ANN001 - a std_msgs Header
    k = msg.intrinsics
    return CameraInfo(header=header, height=k.height, width=k.width, distortion_model="plumb_bob", d=[0.0] * 5,
                      k=k.matrix().reshape(-1).tolist(), r=np.eye(3).reshape(-1).tolist(),
                      p=np.hstack([k.matrix(), np.zeros((3, 1))]).reshape(-1).tolist())


def main(url: str) -> None:
    rclpy.init()
    node = Node("sgnet_bridge")
    pubs = {name: node.create_publisher(kind, f"/sgnet/{name}", 10)
            for name, kind in (("labels", Image), ("camera_info", CameraInfo), ("depth", Image), ("confidence", Image))}
    try:
        for msg in subscribe(url):
            if not rclpy.ok():
                break
            if not node.has_parameter("class_names"):
                node.declare_parameter("class_names", list(msg.class_names))
            ns = stamp_ns(msg.timestamps["device_ms"])
            header = Image().header
            header.stamp.sec, header.stamp.nanosec, header.frame_id = ns // 10**9, ns % 10**9, FRAME_ID
            pubs["labels"].publish(image(msg.labels, "mono8", header))
            pubs["camera_info"].publish(camera_info(msg, header))
            if msg.depth is not None:
                pubs["depth"].publish(image(msg.depth, "16UC1", header))
            if msg.confidence is not None:
                conf = np.rint(np.clip(msg.confidence, 0, 1) * 255).astype(np.uint8)
                pubs["confidence"].publish(image(conf, "mono8", header))
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5555")
