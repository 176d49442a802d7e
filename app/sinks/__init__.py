"""Where results go: video file, screenshot bundles, label PNGs (and the latency log, fed by the pipeline)."""

from app.sinks.base import OutputError, Rendered, Sink, check_output_dir, check_output_file
from app.sinks.labels import LabelsSink
from app.sinks.latency_log import LOG_SUFFIXES, LatencyLog
from app.sinks.screenshots import ScreenshotSink, write_bundle
from app.sinks.video import VIDEO_SUFFIXES, VideoSink

__all__ = [
    "LOG_SUFFIXES",
    "VIDEO_SUFFIXES",
    "LabelsSink",
    "LatencyLog",
    "OutputError",
    "Rendered",
    "ScreenshotSink",
    "Sink",
    "VideoSink",
    "check_output_dir",
    "check_output_file",
    "write_bundle",
]
