"""Depth -> color extrinsics of a ROS bag: realsense-ros' Extrinsics topic, or the tf tree.

realsense-ros publishes `<ns>/extrinsics/depth_to_color` (librealsense's own depth -> color
extrinsics, latched) and static transforms between `camera_depth_optical_frame` and
`camera_color_optical_frame` on `/tf_static`. The topic is taken when there; else the two
images' `header.frame_id`s are joined through the tf tree (each transform gives the child's pose
in its parent: p_parent = R p_child + t).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.sources.rosbag_file import BagFile, MessageError
from app.sources.rosbag_msgs import extrinsics_of

TF_MESSAGES_READ = 2000  # of a dynamic /tf topic: the camera's transforms come early, a robot's keep coming

Pose = tuple[np.ndarray, np.ndarray]  # (R 3x3, t)


def quaternion_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    n = np.sqrt(x * x + y * y + z * z + w * w)
    if not np.isfinite(n) or n == 0:
        raise MessageError("a tf transform has a zero rotation quaternion")
    x, y, z, w = x / n, y / n, z / n, w / n
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def tf_edges(bag: BagFile, topics: tuple[str, ...]) -> dict[str, tuple[str, Pose]]:
    """child frame -> (parent frame, pose of the child in the parent), the first seen of each."""
    edges: dict[str, tuple[str, Pose]] = {}
    read = 0
    for _, _, msg in bag.messages(topics):
        read += 1
        if read > TF_MESSAGES_READ:
            break
        if isinstance(msg, MessageError):
            continue
        for tr in msg.transforms:
            child = str(tr.child_frame_id).lstrip("/")
            if child in edges:
                continue
            q, t = tr.transform.rotation, tr.transform.translation
            edges[child] = (str(tr.header.frame_id).lstrip("/"),
                            (quaternion_matrix(q.x, q.y, q.z, q.w), np.array([t.x, t.y, t.z], dtype=np.float64)))
    return edges


def _to_root(frame: str, edges: dict[str, tuple[str, Pose]]) -> tuple[str, Pose]:
    """(root frame, pose of `frame` in it)."""
    rot, t = np.eye(3), np.zeros(3)
    seen = {frame}
    while frame in edges:
        parent, (r_p, t_p) = edges[frame]
        rot, t = r_p @ rot, r_p @ t + t_p
        frame = parent
        if frame in seen:  # a loop in a damaged tree
            break
        seen.add(frame)
    return frame, (rot, t)


def tf_between(source: str, target: str, edges: dict[str, tuple[str, Pose]]) -> Pose | None:
    """(R, t) with p_target = R p_source + t, or None when the frames are not connected."""
    source, target = source.lstrip("/"), target.lstrip("/")
    root_s, (r_s, t_s) = _to_root(source, edges)
    root_t, (r_t, t_t) = _to_root(target, edges)
    if root_s != root_t:
        return None
    return r_t.T @ r_s, r_t.T @ (t_s - t_t)


def depth_to_color(bag: BagFile, extrinsics_topic: str | None, tf_topics: tuple[str, ...],
                   depth_frame: str, color_frame: str) -> tuple[Pose | None, str]:
    """The extrinsics and where they came from ("extrinsics topic …", "tf"), or (None, why not)."""
    if extrinsics_topic is not None:
        msg = bag.first(extrinsics_topic)
        if msg is not None and not isinstance(msg, MessageError):
            try:
                return extrinsics_of(msg), f"{extrinsics_topic}"
            except MessageError:
                pass
    if tf_topics and depth_frame and color_frame:
        pose = tf_between(depth_frame, color_frame, tf_edges(bag, tf_topics))
        if pose is not None:
            return pose, f"tf {depth_frame} -> {color_frame}"
        return None, f"tf does not connect {depth_frame} and {color_frame}"
    return None, "no extrinsics topic and no tf"


def frame_of(msg: Any) -> str:
    return str(getattr(msg.header, "frame_id", "") or "")
