"""Seeking through the window's source wrapper: folders by index (waiting at the end) and
RealSense recordings on their own timeline (written by librealsense itself)."""

from __future__ import annotations

import queue
import threading
import time

import cv2
import numpy as np
import pytest

from app.gui.control import PlaybackControl
from app.gui.gui_source import GuiSource
from app.gui.rates import PipelineMeters
from app.sources.base import BadFrame
from app.sources.folder import FolderSource
from app.sources.recording import RecordingSource
from sgnet.frames import Intrinsics, RGBDFrame

FPS = 30
N = 24
K = Intrinsics(32, 24, 30.0, 30.0, 15.5, 11.5)


def ident(item: RGBDFrame | BadFrame) -> int:
    """The number the test wrote into the frame's depth. On a busy machine librealsense may hand over
    the first colour frame after a seek with the depth from before it: the source says so with a
    "stale depth" bad frame (counted, as it should be), which stands here for the frame it replaced."""
    if isinstance(item, BadFrame):
        assert item.reason.startswith("stale"), item.reason
        return item.index
    return int(item.depth[0, 0]) - 1000


class Reader:
    """Iterates a GuiSource on a thread into a two-slot queue, and takes frames through the
    playback control, as the pipeline's capture thread and inference loop do."""

    def __init__(self, source: GuiSource) -> None:
        self.source = source
        self.stop = False
        source.stopping = lambda: self.stop
        self.items: queue.Queue = queue.Queue(maxsize=2)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.source:
            for item in self.source:
                while not self.stop:
                    try:
                        self.items.put(item, timeout=0.05)
                        break
                    except queue.Full:
                        pass

    def __enter__(self) -> Reader:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop = True
        self.thread.join(10)
        assert not self.thread.is_alive()

    def next(self, timeout: float = 10.0) -> RGBDFrame:
        """The next frame the pipeline would process (frames read before a seek are skipped)."""
        while True:
            item = self.items.get(timeout=timeout)
            if self.source.control.turn(item, 0.0) == "go":
                return item

    def take(self, n: int, timeout: float = 10.0) -> list[int]:
        return [ident(self.next(timeout)) for _ in range(n)]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    from app.synth.recording import RecordingWriter

    path = tmp_path_factory.mktemp("rec") / "seek.db3"
    t0 = time.monotonic()
    with RecordingWriter(path, K, fps=FPS) as w:
        for i in range(N):
            delay = t0 + i / FPS - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # librealsense's timeline is the wall clock of recording
            w.write(np.full((24, 32, 3), i * 8, np.uint8), np.full((24, 32), 1000 + i, np.uint16))
    return path


def test_recording_seeks_on_its_timeline_and_restarts_after_the_end(recording):
    control = PlaybackControl()
    source = GuiSource(RecordingSource(recording), control, PipelineMeters())
    assert source.timeline is not None and source.timeline.unit == "ms"
    assert 0.7 < source.timeline.length / ((N - 1) * 1000 / FPS) < 1.3  # wall clock: roughly
    with Reader(source) as r:
        assert r.take(3) == [0, 1, 2]
        target = source.timeline.length * 2 // 3
        control.seek(target)
        first = r.next()
        got = [ident(first)] + r.take(2)
        # the next frame is the one at the target (not a frame read before the seek), then on in order
        assert got[0] > 5 and got[1:] == [got[0] + 1, got[0] + 2]
        assert abs(source.position_of(first) - target) <= 3 * source.timeline.step
        rest = [got[-1]]
        while rest[-1] < N - 1:
            rest.append(ident(r.next()))
        time.sleep(0.5)
        assert control.at_end and r.items.empty()  # waits at the end instead of ending the run
        control.seek(0)  # after the end: playback restarts there
        got = r.take(3)
        # on a busy machine the first frameset after a seek may pair frame 0's colour with the depth read
        # before the seek (frame N-1): the source flags it as stale (ident: a bad frame in its place)
        assert got == [0, 1, 2], got


def test_folder_seeks_by_index_and_waits_at_its_last_frame(tmp_path):
    for i in range(6):
        cv2.imwrite(str(tmp_path / f"{i:03d}_color.png"), np.full((24, 32, 3), i, np.uint8))
        cv2.imwrite(str(tmp_path / f"{i:03d}_depth.png"), np.full((24, 32), 1000 + i, np.uint16))
    control = PlaybackControl()
    source = GuiSource(FolderSource(tmp_path), control, PipelineMeters())
    assert source.timeline.length == 6 and source.timeline.unit == "frame"
    with Reader(source) as r:
        assert r.take(6) == [0, 1, 2, 3, 4, 5]
        time.sleep(0.3)
        assert control.at_end and r.items.empty()
        control.seek(2)
        assert r.take(4) == [2, 3, 4, 5]
    assert source.meters.capture.count == 10
