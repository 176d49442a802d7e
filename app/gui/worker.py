"""The pipeline on its own QThread, talking to the window only through Qt signals.

`Pipeline.run()` (capture thread + inference loop) runs in the worker thread. Every result
goes into a newest-wins `LatestSlot` and a `result_ready` signal (queued to the GUI thread)
says one is there; if the window is still painting the previous one, the new result
replaces the old in the slot and the old counts as a display drop. Inference never waits
for the window.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from PyQt5.QtCore import QObject, QThread, pyqtSignal

from app.gui.mailbox import LatestSlot
from app.gui.rates import PipelineMeters
from app.sinks.base import Rendered
from app.stats import FrameRecord
from sgnet.frames import Segmentation


@dataclass(frozen=True)
class DisplayItem:
    """One result for the window."""

    record: FrameRecord
    seg: Segmentation
    produced_s: float  # time.monotonic() when the inference loop finished it


class ResultBridge(QObject):
    """Lives in the GUI thread; its signals are emitted from the pipeline threads."""

    result_ready = pyqtSignal()
    finished = pyqtSignal(object)  # app.pipeline.RunResult


class PipelineWorker(QThread):
    """Runs `pipeline.run()`; `on_record` must be passed to the Pipeline as its `on_record` hook."""

    def __init__(self, meters: PipelineMeters, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.meters = meters
        self.slot: LatestSlot[DisplayItem] = LatestSlot()
        self.bridge = ResultBridge()
        self.pipeline: Any = None
        self.result: Any = None

    def attach(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def on_record(self, rec: FrameRecord, seg: Segmentation | None, _rendered: Rendered | None) -> None:
        """Pipeline hook (inference thread): update the meters, hand the result to the window."""
        self.meters.on_record(rec)
        if seg is None:
            return
        self.slot.put(DisplayItem(rec, seg, time.monotonic()))
        self.bridge.result_ready.emit()

    @property
    def display_drops(self) -> int:
        return self.slot.dropped

    def run(self) -> None:  # QThread entry point
        try:
            self.result = self.pipeline.run()
        finally:
            self.bridge.finished.emit(self.result)
