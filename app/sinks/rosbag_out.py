"""`--save-rosbag OUT`: the labels as a ROS 2 bag, stamped like the frames they came from.

A ROS 2 bag is a folder (`metadata.yaml` + a data file). OUT names it: `results.mcap` -> folder
`results/` holding `results.mcap` (MCAP storage, the default of ROS 2 since Iron), `results.db3`
-> `results/results.db3` (sqlite3), a name without a suffix -> sqlite3 too. The folder must not
exist yet (a bag is never overwritten). Written with `rosbags` (no ROS installation needed),
bag format version 8; message types as in sensor_msgs of ROS 2 Humble and later:

- `/sgnet/labels`: sensor_msgs/msg/Image, mono8, HxW class ids (255 = no prediction);
- `/sgnet/camera_info`: sensor_msgs/msg/CameraInfo of the same frame (plumb_bob, no distortion:
  the intrinsics after alignment to colour);
- `/sgnet/confidence` with `--save-confidence`: mono8, the winning class's probability x 255.

Every message's header stamp (and its log time in the bag) is the source frame's own stamp, so
the results line up with the robot's own bag: `RGBDFrame.stamp_ns` exactly as a ROS bag source
read it from the image header, else `device_ts_ms` in nanoseconds (a float64 of milliseconds since
1970 would give a ROS stamp back only to within 128 ns),
frame_id `camera_color_optical_frame` (realsense-ros's colour optical frame). A frame the window
shows again after a seek is in the bag once (by frame index). The bag's
custom_data holds the class names (`sgnet.classes`, JSON) and what labelled the frames.

Nothing half-written carries the bag's name: it is written inside a hidden partial folder beside
it (`.results.<pid>-<random>.partial/`) and moved to `results/` when finalized at the end of the
run (also after Ctrl-C or an error elsewhere). A write that fails (disk full) removes the partial
bag and raises `OutputError`; a process killed outright leaves only the hidden partial folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.files import partial_path, why_write_failed
from app.sinks.base import OutputError, Rendered, Sink, counted
from app.sinks.labels import confidence_image
from app.stream import RunInfo
from sgnet.frames import NO_PREDICTION, Intrinsics

STORAGES = {".mcap": "mcap", ".db3": "sqlite3", "": "sqlite3"}
LABELS_TOPIC = "/sgnet/labels"
CONFIDENCE_TOPIC = "/sgnet/confidence"
CAMERA_INFO_TOPIC = "/sgnet/camera_info"
FRAME_ID = "camera_color_optical_frame"
BAG_VERSION = 8


@dataclass(frozen=True)
class BagTarget:
    folder: Path  # the bag
    storage: str  # "mcap" or "sqlite3"

    @property
    def data_file(self) -> Path:
        return self.folder / (self.folder.name + (".mcap" if self.storage == "mcap" else ".db3"))


def bag_target(out: str) -> BagTarget:
    """What OUT means (see the module docstring); one line if it cannot be a ROS 2 bag."""
    p = Path(out).expanduser()
    suffix = p.suffix.lower()
    if suffix == ".bag":
        raise UserError(f"--save-rosbag {out}: ROS 1 .bag files are not written; give NAME.mcap or NAME.db3 "
                        "(a ROS 2 bag: folder NAME/)")
    if suffix not in STORAGES:
        raise UserError(f"--save-rosbag {out} must end in .mcap or .db3 (a ROS 2 bag: folder NAME/ with "
                        "NAME.mcap or NAME.db3 and metadata.yaml)")
    return BagTarget(p.with_suffix("") if suffix else p, STORAGES[suffix])


def check_rosbag_output(out: str) -> BagTarget:
    """Fail before the run if the bag cannot be written."""
    t = bag_target(out)
    if t.folder.exists():
        raise UserError(f"--save-rosbag {out}: {t.folder} exists already (a bag is never overwritten): choose "
                        "another name or remove it")
    parent = t.folder.parent
    if not parent.is_dir():
        raise UserError(f"--save-rosbag {out}: folder {parent} does not exist (create it first)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--save-rosbag {out}: permission denied in {parent} (choose another location)")
    return t


def stamp_ns(device_ts_ms: float) -> int:
    """A frame's device timestamp in whole nanoseconds (a ROS stamp)."""
    return max(int(round(device_ts_ms * 1e6)), 0)


class _Messages:
    """sensor_msgs Image / CameraInfo, serialized to CDR with rosbags' typestore."""

    def __init__(self) -> None:
        from rosbags.typesys import Stores, get_typestore

        self.store = get_typestore(Stores.ROS2_HUMBLE)
        t = self.store.types
        self._image, self._info = t["sensor_msgs/msg/Image"], t["sensor_msgs/msg/CameraInfo"]
        self._header, self._time, self._roi = t["std_msgs/msg/Header"], t["builtin_interfaces/msg/Time"], \
            t["sensor_msgs/msg/RegionOfInterest"]

    def header(self, ns: int):  # noqa: ANN201 - a rosbags message class
        return self._header(stamp=self._time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000), frame_id=FRAME_ID)

    def mono8(self, ns: int, img: np.ndarray) -> bytes:
        h, w = img.shape
        msg = self._image(header=self.header(ns), height=h, width=w, encoding="mono8", is_bigendian=0, step=w,
                          data=np.ascontiguousarray(img, np.uint8).reshape(-1))
        return bytes(self.store.serialize_cdr(msg, self._image.__msgtype__))

    def camera_info(self, ns: int, k: Intrinsics) -> bytes:
        msg = self._info(
            header=self.header(ns), height=k.height, width=k.width, distortion_model="plumb_bob",
            d=np.zeros(5), k=k.matrix().reshape(-1), r=np.eye(3).reshape(-1),
            p=np.hstack([k.matrix(), np.zeros((3, 1))]).reshape(-1), binning_x=0, binning_y=0,
            roi=self._roi(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
        )
        return bytes(self.store.serialize_cdr(msg, self._info.__msgtype__))


class RosbagSink(Sink):
    """Labels (+ CameraInfo, + confidence) of every frame into a ROS 2 bag at `out`."""

    name = "rosbag"

    def __init__(self, out: str, confidence: bool = False, run: RunInfo | None = None) -> None:
        self.target = bag_target(out)
        self.confidence = confidence
        self.run = run or RunInfo()
        self.written = 0
        self.repeated = 0  # frames the window showed again after a seek: in the bag once
        self._indices: set[int] = set()
        self.first_ns: int | None = None
        self.last_ns = 0
        self._writer = None
        self._partial: Path | None = None
        self._conns: dict[str, object] = {}
        self._failed = ""

    def open(self, width: int, height: int, fps: float) -> None:
        """Create the partial bag now, so the first frame does not wait for it (about 0.2 s)."""
        from rosbags.rosbag2 import WriterError

        try:
            self._start()
        except (OSError, sqlite3.Error, WriterError) as e:
            self._fail(e, "creating")

    def _start(self) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        self._msgs = _Messages()
        self._partial = partial_path(self.target.folder)
        self._partial.mkdir()
        plugin = StoragePlugin.MCAP if self.target.storage == "mcap" else StoragePlugin.SQLITE3
        writer = Writer(self._partial / self.target.folder.name, version=BAG_VERSION, storage_plugin=plugin)
        writer.open()
        self._writer = writer
        topics = [(LABELS_TOPIC, "sensor_msgs/msg/Image"), (CAMERA_INFO_TOPIC, "sensor_msgs/msg/CameraInfo")]
        if self.confidence:
            topics.append((CONFIDENCE_TOPIC, "sensor_msgs/msg/Image"))
        for topic, msgtype in topics:
            self._conns[topic] = writer.add_connection(topic, msgtype, typestore=self._msgs.store)

    def write(self, rendered: Rendered) -> None:
        from rosbags.rosbag2 import WriterError

        seg = rendered.seg
        if seg.frame.index in self._indices:
            self.repeated += 1
            return
        ns = seg.frame.stamp_ns if seg.frame.stamp_ns is not None else stamp_ns(seg.frame.device_ts_ms)
        try:
            if self._writer is None:
                self._start()
            w, m = self._writer, self._msgs
            if not self.written:  # what the ids mean, and what made them: in metadata.yaml
                for key, value in (("sgnet.classes", json.dumps(list(seg.classes.names))),
                                   ("sgnet.no_prediction", str(NO_PREDICTION)), ("sgnet.model", self.run.model),
                                   ("sgnet.engine", self.run.engine)):
                    w.set_custom_data(key, value)
            w.write(self._conns[LABELS_TOPIC], ns, m.mono8(ns, seg.labels))
            w.write(self._conns[CAMERA_INFO_TOPIC], ns, m.camera_info(ns, seg.frame.intrinsics))
            if self.confidence:
                w.write(self._conns[CONFIDENCE_TOPIC], ns, m.mono8(ns, confidence_image(seg.confidence, seg.labels)))
        except (OSError, sqlite3.Error, WriterError) as e:
            self._fail(e, "writing")
        self.written += 1
        self._indices.add(seg.frame.index)
        self.first_ns = ns if self.first_ns is None else self.first_ns
        self.last_ns = ns

    def _fail(self, e: BaseException, doing: str) -> None:
        self._failed = why_write_failed(e) if isinstance(e, OSError) else " ".join(str(e).split())
        self._discard()
        raise OutputError(f"{self._failed} {doing} the ROS bag {self.target.folder}; no bag was written "
                          f"(the partial bag of {counted(self.written, 'frame')} was removed)") from None

    def _discard(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):  # a broken writer: its files are removed below anyway
                writer.abort()
        if self._partial is not None:
            shutil.rmtree(self._partial, ignore_errors=True)
            self._partial = None

    def close(self) -> list[str]:
        from rosbags.rosbag2 import WriterError

        if self._writer is None or not self.written:
            self._discard()
            return [f"rosbag: none written ({self._failed})" if self._failed else "rosbag: none (no frames)"]
        assert self._partial is not None
        try:
            self._writer.close()
        except (OSError, sqlite3.Error, WriterError) as e:
            self._fail(e, "finalizing")
        self._writer = None
        t, done = self.target, self._partial / self.target.folder.name
        try:
            os.rename(done, t.folder)
        except OSError as e:  # something took the name during the run: the finished bag stays where it is
            self._failed = why_write_failed(e)
            raise OutputError(f"cannot move the finished ROS bag to {t.folder} ({self._failed}: was it created during "
                              f"the run?); the complete bag of {counted(self.written, 'frame')} is in {done}") from None
        with contextlib.suppress(OSError):
            self._partial.rmdir()
        self._partial = None
        topics = [LABELS_TOPIC, CAMERA_INFO_TOPIC] + ([CONFIDENCE_TOPIC] if self.confidence else [])
        span = f"{self.first_ns / 1e9:.3f} … {self.last_ns / 1e9:.3f} s"
        again = f"; {counted(self.repeated, 'frame')} shown again after a seek, kept once" if self.repeated else ""
        return [f"rosbag: {counted(self.written, 'label image')} in {t.folder} ({t.data_file.name} + metadata.yaml, "
                f"{t.storage}; {', '.join(topics)}; stamps {span}{again})"]
