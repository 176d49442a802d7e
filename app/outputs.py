"""What a run writes, from its options: checked before anything starts, built in one place.

`sgnet-live --headless` and the window ask for the same outputs (video, screenshot bundles,
label PNGs, latency log) through the same `OutputOptions`; both call `build_sinks`, so a new kind of
output (a publisher, a bag writer) is added here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.sinks import (
    LOG_SUFFIXES,
    VIDEO_SUFFIXES,
    LabelsSink,
    LatencyLog,
    ScreenshotSink,
    Sink,
    VideoSink,
    check_output_dir,
    check_output_file,
)
from app.sinks.publish import PublishSink, probe_bind
from app.sinks.rosbag_out import RosbagSink, check_rosbag_output
from app.stream import RunInfo, parse_fields


@dataclass
class OutputOptions:
    """The output options of `sgnet-live` (paths as the user typed them)."""

    save_video: str | None = None
    video_view: str = "overlay"
    screenshot_dir: str | None = None
    screenshot_every: int | None = None
    log_latency: str | None = None
    save_labels: str | None = None  # a folder: one class-id PNG per frame
    save_confidence: bool = False  # with save_labels: also NNNNNN_conf.png (confidence x 255)
    publish: str | None = None  # a ZeroMQ URL (tcp://HOST:PORT, ipc://PATH): one message per frame
    publish_fields: str = "labels"  # comma-separated: labels (always), confidence, depth, color
    save_rosbag: str | None = None  # a ROS 2 bag of labels (+ CameraInfo): .mcap, or sqlite (.db3 / a folder)


@dataclass
class RunOutputs:
    """The sinks fed with every result, and the per-frame latency log (fed by the pipeline)."""

    sinks: list[Sink] = field(default_factory=list)
    log: LatencyLog | None = None


def check_outputs(o: OutputOptions) -> None:
    """Every output option and path, before a camera starts or a model loads."""
    from app.render import VIEWS

    if o.video_view not in VIEWS:
        raise UserError(f"--video-view must be one of {', '.join(VIEWS)}, got {o.video_view!r}")
    if o.screenshot_every is not None:
        if o.screenshot_every < 1:
            raise UserError(f"--screenshot-every must be at least 1 frame, got {o.screenshot_every}")
        if o.screenshot_dir is None:
            raise UserError("--screenshot-every needs --screenshot-dir DIR")
    files = []
    if o.save_video is not None:
        files.append(check_output_file(o.save_video, "video", VIDEO_SUFFIXES).resolve())
    if o.log_latency is not None:
        files.append(check_output_file(o.log_latency, "latency log", LOG_SUFFIXES).resolve())
    if len(set(files)) != len(files):
        raise UserError("--save-video and --log-latency must be different files")
    if o.screenshot_dir is not None:
        check_output_dir(o.screenshot_dir, "screenshot folder")
    if o.save_labels is not None:
        check_output_dir(o.save_labels, "label folder")
    if o.save_confidence and o.save_labels is None and o.save_rosbag is None:
        raise UserError("--save-confidence saves the confidence where labels are saved: add --save-labels DIR "
                        "or --save-rosbag OUT")
    if o.save_rosbag is not None:
        check_rosbag_output(o.save_rosbag)
    if o.publish is not None:
        parse_fields(o.publish_fields)
        probe_bind(o.publish)  # a bad form, a taken or foreign address: one line now
    elif o.publish_fields != "labels":
        raise UserError("--publish-fields chooses what --publish sends: add --publish URL")


def build_sinks(o: OutputOptions, window: bool, segmenter: Any = None) -> RunOutputs:
    """The sinks and log the options ask for. Headless, --screenshot-dir alone means one bundle
    of the last frame; in the window it is where S saves, so bundles are written by a sink only
    with --screenshot-every. `segmenter` names the model and engine in what the stream and the bag
    carry."""
    sinks: list[Sink] = []
    if o.save_video:
        sinks.append(VideoSink(Path(o.save_video).expanduser(), o.video_view))
    if o.screenshot_dir and (o.screenshot_every or not window):
        sinks.append(ScreenshotSink(Path(o.screenshot_dir).expanduser(), o.screenshot_every))
    if o.save_labels:
        sinks.append(LabelsSink(Path(o.save_labels).expanduser(), confidence=o.save_confidence))
    run = RunInfo.of(segmenter)
    if o.save_rosbag:
        sinks.append(RosbagSink(o.save_rosbag, confidence=o.save_confidence, run=run))
    if o.publish:  # first: other programs get the labels before the files are written
        sinks.insert(0, PublishSink(o.publish, parse_fields(o.publish_fields), run=run))
    log = LatencyLog(Path(o.log_latency).expanduser()) if o.log_latency else None
    return RunOutputs(sinks, log)
