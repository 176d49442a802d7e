"""Everything one window drives, wired together: source → pipeline (on a QThread) → window.

The same sinks as headless (`--save-video`, `--screenshot-every`, `--log-latency`) plus the
window's recorder; the source wrapped and the pipeline gated so the window can pause, step
and seek.
Tests build a session around a small source and a stand-in segmenter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.gui.control import PlaybackControl
from app.gui.gui_source import GuiSource
from app.gui.rates import PipelineMeters
from app.gui.recorder import RecorderSink
from app.gui.worker import PipelineWorker
from app.live import LiveOptions
from app.pipeline import Pipeline
from app.sinks.base import Sink
from app.sources.base import Source, SourceInfo


@dataclass
class Session:
    source: GuiSource
    segmenter: Any
    pipeline: Pipeline
    control: PlaybackControl
    meters: PipelineMeters
    recorder: RecorderSink
    worker: PipelineWorker
    model_text: str  # "sgnet_lite · cpu · fp32" for the status bar

    @property
    def info(self) -> SourceInfo:
        return self.source.info

    def start(self) -> None:
        self.worker.start()

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Stop the pipeline and wait until its sinks are finalized; True if it ended in time."""
        self.pipeline.stop("window closed")
        self.control.close()
        return self.worker.wait(int(timeout_s * 1000))


def model_text(segmenter: Any) -> str:
    name = getattr(segmenter, "model_name", type(segmenter).__name__)
    device = getattr(segmenter, "device", "?")
    precision = getattr(segmenter, "precision", "?")
    return f"{name} · {device} · {precision}"


def headless_sinks(o: LiveOptions) -> tuple[list[Sink], Any]:
    """The sinks and latency log the command-line options ask for (as `sgnet-live --headless`).
    Without --screenshot-every the window saves bundles only on request (S)."""
    from app.sinks import LatencyLog, ScreenshotSink, VideoSink

    sinks: list[Sink] = []
    if o.save_video:
        sinks.append(VideoSink(Path(o.save_video).expanduser(), o.video_view))
    if o.screenshot_dir and o.screenshot_every:
        sinks.append(ScreenshotSink(Path(o.screenshot_dir).expanduser(), o.screenshot_every))
    log = LatencyLog(Path(o.log_latency).expanduser()) if o.log_latency else None
    return sinks, log


def build_session(o: LiveOptions, source: Source, segmenter: Any, start_paused: bool = False) -> Session:
    control = PlaybackControl(paused=start_paused)
    meters = PipelineMeters()
    gui_source = GuiSource(source, control, meters)
    recorder = RecorderSink()
    sinks, log = headless_sinks(o)
    worker = PipelineWorker(meters)
    pipeline = Pipeline(
        gui_source,
        segmenter,
        [*sinks, recorder],
        log=log,
        max_frames=o.frames,
        alpha=o.alpha,
        on_record=worker.on_record,
        gate=control,
    )
    gui_source.stopping = lambda: pipeline.stopping
    worker.attach(pipeline)
    return Session(gui_source, segmenter, pipeline, control, meters, recorder, worker, model_text(segmenter))
