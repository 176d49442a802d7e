"""Everything one window drives, wired together: source → pipeline (on a QThread) → window.

The same sinks as headless (`app.outputs.build_sinks`: `--save-video`, `--screenshot-every`,
`--log-latency`) plus the window's recorder; the source wrapped and the pipeline gated so the window can pause, step
and seek.
Tests build a session around a small source and a stand-in segmenter.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.gui.control import PlaybackControl
from app.gui.gui_source import GuiSource
from app.gui.rates import PipelineMeters
from app.gui.recorder import RecorderSink
from app.gui.worker import PipelineWorker
from app.live import LiveOptions
from app.outputs import build_sinks
from app.pipeline import Pipeline
from app.sources.base import Source, SourceInfo
from sgnet.frames import SegmenterLike


@dataclass
class Session:
    source: GuiSource
    segmenter: SegmenterLike
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


def model_text(segmenter: SegmenterLike) -> str:
    return f"{segmenter.model_name} · {segmenter.device} · {segmenter.precision}"


def build_session(o: LiveOptions, source: Source, segmenter: SegmenterLike, start_paused: bool = False) -> Session:
    control = PlaybackControl(paused=start_paused)
    meters = PipelineMeters()
    gui_source = GuiSource(source, control, meters)
    recorder = RecorderSink()
    outputs = build_sinks(o.outputs, window=True, segmenter=segmenter)
    worker = PipelineWorker(meters)
    pipeline = Pipeline(
        gui_source,
        segmenter,
        [*outputs.sinks, recorder],
        log=outputs.log,
        max_frames=o.frames,
        alpha=o.alpha,
        on_record=worker.on_record,
        gate=control,
    )
    gui_source.stopping = lambda: pipeline.stopping
    worker.attach(pipeline)
    return Session(gui_source, segmenter, pipeline, control, meters, recorder, worker, model_text(segmenter))
