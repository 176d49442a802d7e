"""Replay of a realsense-ros bag (ROS 1 `.bag`, ROS 2 folder, bare `.db3`/`.mcap`) read with rosbags.

The color and depth topics are found by their realsense-ros names or given with `--topics`
(`rosbag_layout`); color and depth messages are paired by header stamp (`rosbag_pairs`);
depth that is not yet aligned to color is aligned by `rs.align` on a software device
(`align_depth`) with the bag's depth camera info and depth -> color extrinsics
(`rosbag_calib`). Intrinsics are the color camera info's. Every pair is replayed, in order, as
fast as the consumer takes them, or paced by the stamps with `realtime`. `device_ts_ms` is the
color message's header stamp in ms, `stamp_ns` the same stamp exact (what --save-rosbag writes back).

Nothing is lost silently: an unpaired or undecodable message is a `BadFrame` with its reason;
after the last message, what was read is compared with the bag's index, and a bag that held
less than it promised (unreadable messages, a damaged chunk or page) raises `DamagedInputError`
(exit status 3), or with `allow_damaged` ends normally and says so in `end_report()`, as for
librealsense recordings. A bag that cannot be opened at all is one line (`UserError`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError
from app.sources.align_depth import DepthAligner, DepthCalibration
from app.sources.base import BadFrame, DamagedInputError, Source, SourceInfo, SourceItem, SourceOptions, now_ns
from app.sources.imu import GravityTracker
from app.sources.rosbag_calib import depth_to_color, frame_of, tf_between, tf_edges
from app.sources.rosbag_file import BagFile, MessageError, unclosed_storage
from app.sources.rosbag_layout import find_layout
from app.sources.rosbag_msgs import DEPTH_SCALE, camera_intrinsics, color_rgb, depth_raw, ns_to_ms, stamp_ns
from app.sources.rosbag_pairs import Event, StampPairer
from sgnet.frames import Intrinsics, RGBDFrame

DEFAULT_FPS = 30.0
MIN_TOLERANCE_NS = 1_000_000
MAX_TOLERANCE_NS = 50_000_000
STORAGE_NAMES = {"ros1": "ROS 1 bag", "ros2": "ROS 2 bag", "sqlite": "ROS 2 bag (sqlite)", "mcap": "ROS 2 bag (mcap)"}


class RosbagSource(Source):
    """Aligned color + depth frames of a realsense-ros bag."""

    def __init__(self, path: str | Path, options: SourceOptions | None = None) -> None:
        super().__init__()
        opts = options or SourceOptions()
        self.path = Path(path)
        storage = unclosed_storage(self.path)
        if storage is not None:
            self.notes.append(f"{self.path.name} has no metadata.yaml (its recorder was stopped before writing it): "
                              f"reading {storage.name} directly")
        self._bag = BagFile(storage or self.path, allow_damaged=opts.allow_damaged)
        try:
            self._setup(opts)
        except BaseException:
            self._bag.close()
            raise

    def _setup(self, opts: SourceOptions) -> None:
        name = self.path.name
        self.layout = layout = find_layout(name, self._bag.topics, opts.topics)
        self.notes.extend(layout.notes)
        first_color = self._first(layout.color, "color")
        first_depth = self._first(layout.depth, "depth")
        try:
            color = color_rgb(first_color)
            depth = depth_raw(first_depth)
        except MessageError as e:
            raise UserError(f"{name}: cannot use the first message of {layout.color} / {layout.depth}: {e}") from None
        h, w = color.shape[:2]
        self.intrinsics = self._color_intrinsics(w, h)
        self._calibration: DepthCalibration | None = None
        how = "aligned to color"
        if not layout.aligned:
            how = self._find_calibration(first_depth, first_color)
        elif depth.shape != (h, w):
            raise UserError(f"{name}: depth {layout.depth} is {depth.shape[1]}x{depth.shape[0]} but color is {w}x{h}; "
                            "aligned depth must have the color image's size")
        self._gravity = self._imu_gravity(frame_of(first_color))
        self._expected = {s: self._bag.topics[t].count for s, t in (("color", layout.color), ("depth", layout.depth))}
        n = self._expected["color"]
        duration_s = self._bag.duration_s
        fps = (n - 1) / duration_s if n > 1 and duration_s > 0 else DEFAULT_FPS
        tol = int(0.5e9 / fps) if fps > 0 else MAX_TOLERANCE_NS
        self.tolerance_ns = min(max(tol, MIN_TOLERANCE_NS), MAX_TOLERANCE_NS)
        self._realtime = opts.realtime
        self._allow_damaged = opts.allow_damaged
        self._report: list[str] = []
        self._aligner: Any = None
        self.use_software_filters(opts.filters)
        self._info = SourceInfo(
            kind="recording",
            description=(f"{STORAGE_NAMES.get(self._bag.storage or '', 'ROS bag')} {name}: color {layout.color} "
                         f"{w}x{h}, depth {layout.depth} ({how}), {n} color messages @ {fps:.1f} FPS, "
                         + ("recorded speed" if opts.realtime else "every frame")
                         + (f", gravity from {layout.imu}" if self._gravity is not None else "")),
            width=w,
            height=h,
            fps=float(fps),
            live=bool(opts.realtime),
            clock="device",
        )

    def _first(self, topic: str, what: str) -> Any:
        try:
            msg = self._bag.first(topic)
        except MessageError as e:
            raise UserError(f"cannot read ROS bag {self.path}: {e} (the bag is truncated or damaged)") from None
        if msg is None:
            raise UserError(f"{self.path.name}: the {what} topic {topic} holds no messages")
        if isinstance(msg, MessageError):
            raise UserError(f"{self.path.name}: the first {what} message on {topic} is unreadable: {msg}")
        return msg

    def _color_intrinsics(self, w: int, h: int) -> Intrinsics:
        from sgnet.data import fit_intrinsics

        given = None
        if self.layout.color_info is not None:
            msg = self._bag.first(self.layout.color_info)
            if msg is not None and not isinstance(msg, MessageError):
                try:
                    given = camera_intrinsics(msg)
                except MessageError:
                    given = None
        what = f"camera info {self.layout.color_info}" if given is not None else "color camera info in the bag"
        intr, note = fit_intrinsics(given, w, h, what=what, add="record the …/color/camera_info topic", strict=False)
        if note:
            self.notes.append(note)
        return intr

    def _find_calibration(self, first_depth: Any, first_color: Any) -> str:
        """Depth camera + depth -> color extrinsics for `rs.align`, or one line saying what is missing."""
        name, layout = self.path.name, self.layout
        fix = "record the aligned depth (align_depth.enable:=true) or the depth camera_info and extrinsics"
        depth_k = None
        if layout.depth_info is not None:
            msg = self._bag.first(layout.depth_info)
            if msg is not None and not isinstance(msg, MessageError):
                depth_k = camera_intrinsics(msg)
        if depth_k is None:
            raise UserError(f"{name}: depth {layout.depth} is not aligned to color and the bag has no depth camera "
                            f"info to align it with ({layout.depth.rpartition('/')[0]}/camera_info); {fix}")
        pose, source = depth_to_color(self._bag, layout.extrinsics, layout.tf, frame_of(first_depth),
                                      frame_of(first_color))
        if pose is None:
            raise UserError(f"{name}: depth {layout.depth} is not aligned to color and the depth -> color extrinsics "
                            f"are missing ({source}); {fix}")
        self._calibration = DepthCalibration(depth_k, pose[0], pose[1])
        return f"aligned here like rs.align, extrinsics from {source}"

    def _imu_gravity(self, color_frame: str) -> GravityTracker | None:
        """The accelerometer topic's gravity, turned into the color frame through tf (realsense-ros
        publishes IMU samples in optical-frame axes: without tf they are taken as the color camera's)."""
        topic = self.layout.imu
        if topic is None:
            return None
        first = self._bag.first(topic)
        if first is None or isinstance(first, MessageError):
            return None
        imu_frame = frame_of(first)
        rotation = None
        if self.layout.tf and imu_frame and color_frame:
            pose = tf_between(imu_frame, color_frame, tf_edges(self._bag, self.layout.tf))
            rotation = None if pose is None else pose[0]
        if rotation is None:
            rotation = np.eye(3)
            self.notes.append(f"no tf from {imu_frame or topic} to {color_frame or 'the color camera'}: its "
                              "accelerometer axes are taken as the color camera's (off by the small angle "
                              "between them)")
        return GravityTracker(rotation)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def end_report(self) -> list[str]:
        return list(self._report)

    def _stop(self) -> None:
        if self._aligner is not None:
            self._aligner.close()
            self._aligner = None

    def close(self) -> None:
        super().close()
        self._bag.close()

    # --- playback ---------------------------------------------------------------------------

    def _frames(self) -> Iterator[SourceItem]:
        tally = _Tally()
        t0: float | None = None
        first_ns: int | None = None
        for index, ev in enumerate(self._events(tally)):
            if not self._started:
                return
            if isinstance(ev, Event) and self._realtime:  # paced by the stamps, from the first pair on
                first_ns = ev.stamp_ns if first_ns is None else first_ns
                t0 = time.monotonic() if t0 is None else t0
                delay = t0 + (ev.stamp_ns - first_ns) / 1e9 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self._item(ev, index)
        self._finish(tally)

    def _events(self, tally: _Tally) -> Iterator[Event | BadFrame]:
        """Pairs, unpaired and undecodable messages as the bag is read (accelerometer samples feed
        the gravity on the way); what was read is counted in `tally`."""
        layout = self.layout
        streams = {layout.color: "color", layout.depth: "depth"}
        imu = [layout.imu] if self._gravity is not None and layout.imu else []
        pairer = StampPairer(self.tolerance_ns)
        messages = self._bag.messages([*streams, *imu])
        while True:
            try:
                item = next(messages, None)
            except MessageError as e:  # the rest of the bag is unreadable
                tally.stopped = str(e)
                item = None
            if item is None:
                yield from pairer.finish()
                return
            topic, log_ns, msg = item
            if topic not in streams:
                if self._gravity is not None and not isinstance(msg, MessageError):
                    a = msg.linear_acceleration
                    self._gravity.add(float(a.x), float(a.y), float(a.z))
                continue
            stream = streams[topic]
            tally.read[stream] += 1
            if isinstance(msg, MessageError):
                tally.unreadable[stream] += 1
                yield BadFrame(-1, f"{stream} message {tally.read[stream]}: {msg}", ns_to_ms(log_ns), now_ns(),
                               kind=f"unreadable {stream} message")
            else:
                yield from pairer.feed(stream, stamp_ns(msg), msg)

    def _item(self, ev: Event | BadFrame, index: int) -> SourceItem:
        if isinstance(ev, BadFrame):
            return BadFrame(index, ev.reason, ev.device_ts_ms, ev.arrived_ns, kind=ev.kind)
        arrived = now_ns()
        if ev.color is None or ev.depth is None:
            which, other = ("color", "depth") if ev.depth is None else ("depth", "color")
            ts = ns_to_ms(ev.stamp_ns)
            return BadFrame(index, f"{which} message at {ts:.3f} ms has no {other} message within "
                            f"{self.tolerance_ns / 1e6:.1f} ms", ts, arrived, kind=f"{which} without {other}")
        ts = ns_to_ms(ev.color.stamp_ns)
        try:
            color = color_rgb(ev.color.msg)
            depth = depth_raw(ev.depth.msg)
            if self._calibration is not None:
                depth = self._aligned(color, depth)
            frame = RGBDFrame(color, depth, DEPTH_SCALE, self.intrinsics, index, ts, arrived,
                              stamp_ns=ev.color.stamp_ns)
        except (MessageError, ValueError, RuntimeError) as e:
            return BadFrame(index, f"unusable frame: {e}", ts, arrived, kind="unusable frame")
        return self.filtered(frame if self._gravity is None else self._gravity.apply(frame))

    def _aligned(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        calibration = self._calibration
        assert calibration is not None
        depth_k = calibration.depth
        if depth.shape != (depth_k.height, depth_k.width):
            raise ValueError(f"depth is {depth.shape[1]}x{depth.shape[0]} but its camera info says "
                             f"{depth_k.width}x{depth_k.height}")
        if color.shape[:2] != (self.intrinsics.height, self.intrinsics.width):
            raise ValueError(f"color is {color.shape[1]}x{color.shape[0]}, expected "
                             f"{self.intrinsics.width}x{self.intrinsics.height}")
        if self._aligner is None:
            self._aligner = DepthAligner(self.intrinsics, calibration, DEPTH_SCALE)
        return self._aligner.align(color, depth)

    def _finish(self, tally: _Tally) -> None:
        """The bag ended: did it hold what its index promised?"""
        parts = []
        short = [f"{tally.read[s]} of {n} {s} messages" for s, n in self._expected.items() if tally.read[s] < n]
        if short:
            parts.append(" and ".join(short) + " could be read")
        bad = [f"{n} {s} message{'s' if n > 1 else ''}" for s, n in tally.unreadable.items() if n]
        if bad:
            parts.append(" and ".join(bad) + " could not be decoded")
        if tally.stopped and not short:
            parts.append("reading stopped early")
        if self._bag.damage:
            parts.insert(0, f"{self._bag.damage}; {tally.read['color']} color and {tally.read['depth']} depth "
                            "messages could be read")
        if not parts:
            return
        line = f"{self.path.name} is damaged: " + "; ".join(parts)
        line += f" (rosbags: {tally.stopped})" if tally.stopped else ""
        if not self._allow_damaged:
            raise DamagedInputError(f"{line}; re-record it, or pass --allow-damaged to use what can be read")
        self._report = [line]


@dataclass
class _Tally:
    """What playback read of the color and depth topics."""

    read: dict[str, int] = field(default_factory=lambda: {"color": 0, "depth": 0})
    unreadable: dict[str, int] = field(default_factory=lambda: {"color": 0, "depth": 0})
    stopped: str | None = None  # why reading stopped before the end
