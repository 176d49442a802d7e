"""Replay of a RealSense recording: ROS1 `.bag` (librealsense <= 2.57) or ROS2 `.db3` (>= 2.58).

The format is sniffed from the first bytes, not the name (librealsense itself picks its
reader by extension, so a mis-named file is handed over through a correctly named link).
Playback is lossless by default (`set_real_time(False)`: the file is read as fast as the
consumer takes frames) or paced at recorded speed with `realtime=True`. The playback device
is configured before the pipeline starts (`pipeline.set_device`) so no frame is played
before non-real-time mode is on. Alignment, intrinsics and depth units come from the file.

Nothing is lost silently: before librealsense sees the file, its index says how many depth
and color frames it holds and its static records are checked (`recording_index`), and the
file is loaded once in a child process (`recording_probe`), so a file that would hang or
crash librealsense ends in one line. After playback, the frames read are compared with the
index (`recording_verdict`): a damaged file raises `DamagedInputError` (exit status 3), or with
`allow_damaged` ends normally and says what was lost in `end_report()`. librealsense's own
stderr lines are held back while the file is open (`stderr_filter`).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.sources import rs_log, stderr_filter
from app.sources.base import DamagedInputError, Source, SourceInfo, SourceItem, SourceOptions
from app.sources.imu import MotionGravity, accel_profile
from app.sources.recording_index import RecordingIndex, RecordingIndexError, read_index
from app.sources.recording_probe import probe
from app.sources.recording_verdict import PlaybackEnd, damage, frames_outstanding
from app.sources.rs_frames import FramesetConverter, FrameTally, intrinsics_of, rs_module
from sgnet.frames import Intrinsics

ROSBAG_MAGIC = b"#ROSBAG V2.0"
SQLITE_MAGIC = b"SQLite format 3\x00"
WAIT_MS = 200  # one poll of the pipeline; end of file is "no frame and playback stopped"
STALL_S = 10.0  # no frame for this long while the playback claims to play = a broken file
END_GRACE_S = 2.0  # after "stopped", how long frames the index promises may still arrive


def sniff_recording(path: Path) -> str | None:
    """"bag" (ROS1), "db3" (ROS2/SQLite) or None, from the file's first bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head.startswith(ROSBAG_MAGIC):
        return "bag"
    if head.startswith(SQLITE_MAGIC):
        return "db3"
    return None


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


class RecordingSource(Source):
    """Frames of a .bag/.db3 recording, aligned to its color stream."""

    def __init__(self, path: str | os.PathLike, options: SourceOptions | None = None) -> None:
        super().__init__()
        self._tmpdir: str | None = None
        opts = options or SourceOptions()
        self.path = Path(path)
        fmt = sniff_recording(self.path)
        if fmt is None:
            raise UserError(
                f"{self.path} is not a RealSense recording (neither a ROS1 .bag nor a ROS2 .db3 file); "
                "record one with `sgnet record OUT.db3` or the RealSense Viewer"
            )
        self.format = fmt
        self._realtime = opts.realtime
        self._allow_damaged = opts.allow_damaged
        self._tally = FrameTally()
        self._seeked = False
        self._report: list[str] = []
        self._quiet = False
        self._said_from = 0
        self._log_mark = 0
        self._index = self._read_index(fmt)
        self._playback = self._load(self._librealsense_path(fmt))
        self._playback.set_real_time(bool(opts.realtime))
        self._depth_profile, self._color_profile = self._find_profiles()
        self._check_frames_present()
        self._color_intrinsics = intrinsics_of(self._color_profile)
        try:
            self._depth_scale = float(self._playback.first_depth_sensor().get_depth_scale())
        except RuntimeError:
            self._depth_scale = 0.001
        self._filters = opts.filters
        self._pipe: Any = None
        self._converter: FramesetConverter | None = None
        self._motion: MotionGravity | None = None  # a recording with an accelerometer stream: gravity for HHA
        imu = ", gravity from its IMU" if accel_profile(self._playback) is not None else ""
        ci = self._color_intrinsics
        dp = self._depth_profile.as_video_stream_profile()
        self._info = SourceInfo(
            kind="recording",
            description=(
                f"recording {self.path.name} ({fmt}): color {ci.width}x{ci.height}, depth "
                f"{dp.width()}x{dp.height()} @ {self._color_profile.fps()} FPS, "
                + ("recorded speed" if opts.realtime else "every frame") + imu
            ),
            width=ci.width,
            height=ci.height,
            fps=float(self._color_profile.fps()),
            live=bool(opts.realtime),  # at recorded speed, a slow consumer drops frames like a live camera
            clock="device",
        )

    def _read_index(self, fmt: str) -> RecordingIndex:
        try:
            return read_index(self.path, fmt)
        except RecordingIndexError as e:
            raise UserError(f"cannot read recording {self.path}: {e}; the file is truncated or corrupt") from None

    def _load(self, lrs_path: str) -> Any:
        """The playback device, once a child process has shown that loading it neither crashes nor hangs."""
        checked = probe(lrs_path)
        if checked.problem is not None:
            self._cleanup_tmp()
            why = f"{checked.detail} (the file is truncated or corrupt)" if checked.detail else checked.problem
            raise UserError(f"cannot read recording {self.path}: {why}")
        self._ctx = rs_module().context()
        try:
            with stderr_filter.quiet("librealsense"):
                return self._ctx.load_device(lrs_path)
        except RuntimeError as e:
            self._cleanup_tmp()
            raise UserError(
                f"cannot read recording {self.path}: {_first_line(e)} (the file is truncated or corrupt)"
            ) from None

    def _check_frames_present(self) -> None:
        """A stream that is declared but has no frame at all: nothing can be played."""
        counts = {s: self._index.expected(s) for s in ("depth", "color")}
        empty = [s for s, n in counts.items() if self._index.images.get(s, 0) == 0]
        if empty:
            self._cleanup_tmp()
            have = ", ".join(f"{n} {s}" for s, n in counts.items() if s not in empty) or "nothing else"
            raise UserError(
                f"{self.path.name} is damaged: it holds no {' and no '.join(empty)} frames "
                f"(its index lists {have}); sgnet-live needs depth and color"
            )

    def _librealsense_path(self, fmt: str) -> str:
        """A path whose extension matches the content, as librealsense picks its reader by extension."""
        if self.path.suffix.lower() == f".{fmt}":
            return str(self.path)
        self._tmpdir = tempfile.mkdtemp(prefix="sgnet-rec-")
        link = Path(self._tmpdir) / f"recording.{fmt}"
        try:
            link.symlink_to(self.path.resolve())
        except OSError:
            shutil.copyfile(self.path, link)
        return str(link)

    def _cleanup_tmp(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _find_profiles(self) -> tuple[Any, Any]:
        rs = rs_module()
        depth = color = None
        for sensor in self._playback.query_sensors():
            for p in sensor.get_stream_profiles():
                if not p.is_video_stream_profile():
                    continue
                if p.stream_type() == rs.stream.depth and depth is None:
                    depth = p
                elif p.stream_type() == rs.stream.color and color is None:
                    color = p
        missing = [name for name, p in (("depth", depth), ("color", color)) if p is None]
        if missing:
            self._cleanup_tmp()
            raise UserError(
                f"recording {self.path} has no {' and no '.join(missing)} stream; sgnet-live needs both "
                "depth and color (record with both enabled)"
            )
        return depth, color

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def color_intrinsics(self) -> Intrinsics:
        """Intrinsics of the recorded color stream, which aligned frames carry."""
        return self._color_intrinsics

    @property
    def depth_scale(self) -> float:
        return self._depth_scale

    def end_report(self) -> list[str]:
        return list(self._report)

    def _start(self) -> None:
        if not self._quiet:
            self._quiet = stderr_filter.hold("librealsense")
            self._said_from = len(stderr_filter.said("librealsense"))
            self._log_mark = rs_log.collect_errors()
        try:
            self._start_pipe()
        except BaseException:
            self._stop()  # not started, so close() will not: give fd 2 back here
            raise

    def _start_pipe(self) -> None:
        rs = rs_module()
        self._pipe = rs.pipeline(self._ctx)
        self._pipe.set_device(self._playback)
        cfg = rs.config()
        for p in (self._depth_profile, self._color_profile):
            v = p.as_video_stream_profile()
            cfg.enable_stream(p.stream_type(), p.stream_index(), v.width(), v.height(), p.format(), p.fps())
        try:
            self._pipe.start(cfg)
        except RuntimeError as e:
            raise UserError(f"cannot play recording {self.path}: {_first_line(e)}") from None
        fps = {"depth": self._depth_profile.fps(), "color": self._color_profile.fps()}
        slower = frozenset(s for s, f in fps.items() if f < max(fps.values()))  # repeats there are expected
        before = self._converter if self._seeked else None  # a restart after a seek (see FramesetConverter)
        self._converter = FramesetConverter(self._filters, self._depth_scale, self._tally, slower, from_file=True,
                                            after_seek=before)
        if self._motion is None:
            self._motion = MotionGravity.start_for(self._playback, self._color_profile)

    @property
    def duration_ms(self) -> float:
        """Length of the recording (its own timeline, which `seek_ms` uses)."""
        return self._playback.get_duration().total_seconds() * 1000.0

    @property
    def position_ms(self) -> float:
        """Where playback is on the recording's timeline (just after the last frame read)."""
        return self._playback.get_position() / 1e6

    def seek_ms(self, ms: float) -> None:
        """Continue playback `ms` after the start of the recording (for the window's slider).

        Call it from the thread that iterates. The librealsense pipeline is stopped around the
        seek and started again: seeking a running non-real-time playback can block for seconds
        (until a timeout inside librealsense), and the restart also drops the frames queued
        before the seek, so the next frame is the one at `ms`. If the file had ended, iterate
        the source again (`iter(source)`) for the frames."""
        running = self._pipe is not None
        if running:
            with contextlib.suppress(RuntimeError):
                self._pipe.stop()
            self._pipe = None
        self._seeked = True  # frames skipped on purpose: the counts no longer tell anything
        self._playback.seek(datetime.timedelta(milliseconds=max(float(ms), 0.0)))
        if running:
            self._start_pipe()

    def _stop(self) -> None:
        if self._motion is not None:
            self._motion.stop()
            self._motion = None
        if self._pipe is not None:
            with contextlib.suppress(RuntimeError):
                self._pipe.stop()
            self._pipe = None
        if self._quiet:
            self._quiet = False
            stderr_filter.release("librealsense")
        self._cleanup_tmp()

    def _finish(self, stalled: bool) -> None:
        """Playback ended by itself: compare what came with what the index promised."""
        said = stderr_filter.said("librealsense")[self._said_from:]
        end = PlaybackEnd(stalled, self._seeked, self._realtime, self._info.fps or 30.0,
                          read_failure=rs_log.read_failure(self._log_mark))
        line = damage(self.path.name, self._index, self._tally, end, said)
        if line is None:
            return
        if not self._allow_damaged:
            raise DamagedInputError(f"{line}; re-record it, or pass --allow-damaged to use what can be read")
        self._report = [line]

    def _frames(self) -> Iterator[SourceItem]:
        rs = rs_module()
        assert self._converter is not None
        index = 0
        waited = 0.0
        while self._started:
            ok, frames = self._pipe.try_wait_for_frames(WAIT_MS)
            if not self._started:
                return
            if not ok:
                if self._playback.current_status() == rs.playback_status.stopped:
                    if waited < END_GRACE_S and not self._seeked and \
                            frames_outstanding(self._index, self._tally, self._realtime):
                        waited += WAIT_MS / 1000.0  # frames still on their way through librealsense
                        continue
                    self._finish(stalled=False)  # end of file
                    return
                waited += WAIT_MS / 1000.0
                if waited >= STALL_S:
                    self._finish(stalled=True)
                    return
                continue
            waited = 0.0
            item = self._converter.convert(frames, index)
            yield self._motion.apply(item) if self._motion is not None else item
            index += 1

    def __del__(self) -> None:
        if getattr(self, "_quiet", False):
            self._quiet = False
            stderr_filter.release("librealsense")
        self._cleanup_tmp()
