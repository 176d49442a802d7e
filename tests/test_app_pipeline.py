"""The threaded pipeline with a stand-in segmenter: ordering, queues, bad frames, shutdown."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.pipeline import FrameQueue, Pipeline
from app.sinks import LatencyLog, Rendered, Sink, VideoSink
from app.sources import BadFrame, Source, SourceError, SourceInfo, SourceOptions
from app.sources.demo import DemoSource
from sgnet.errors import FrameRejectedError, SGNetUserError
from sgnet.frames import NO_PREDICTION, Intrinsics, RGBDFrame, Segmentation

K = Intrinsics(32, 24, 30.0, 30.0, 15.5, 11.5)


class FakeSegmenter:
    """Labels = depth > 0 (so a test can check what reached the sinks); counts its calls."""

    def __init__(self, delay_s: float = 0.0, reject: set[int] = frozenset()) -> None:
        self.calls: list[int] = []
        self.delay_s = delay_s
        self.reject = reject

    def segment(self, frame: RGBDFrame) -> Segmentation:
        self.calls.append(frame.index)
        if frame.index in self.reject:
            raise FrameRejectedError("frame rejected")
        time.sleep(self.delay_s)
        labels = (frame.depth > 0).astype(np.uint8) + 1
        return Segmentation(frame, labels, {"upload": 0.1, "spatial": 0.2, "model": 1.0, "postprocess": 0.3})


def frame(i: int, depth_value: int = 1000) -> RGBDFrame:
    return RGBDFrame(
        np.full((24, 32, 3), i % 256, np.uint8), np.full((24, 32), depth_value, np.uint16), 0.001, K, i, i * 10.0,
        time.monotonic_ns(),
    )


class ListSource(Source):
    """Yields the given items (callables raise), optionally as a live source."""

    def __init__(self, items: list, live: bool = False, delay_s: float = 0.0) -> None:
        super().__init__()
        self.items, self.delay_s = items, delay_s
        self.started = self.stopped = 0
        self._info = SourceInfo("demo", "test list", 32, 24, 30.0, live)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def _start(self) -> None:
        self.started += 1

    def _stop(self) -> None:
        self.stopped += 1

    def _frames(self) -> Iterator:
        for item in self.items:
            time.sleep(self.delay_s)
            if callable(item):
                item()
            yield item


class Collect(Sink):
    def __init__(self) -> None:
        self.segs: list[Segmentation] = []
        self.closed = 0

    def write(self, rendered: Rendered) -> None:
        rendered.view("overlay")
        self.segs.append(rendered.seg)

    def close(self) -> list[str]:
        self.closed += 1
        return ["collected"]


def test_lossless_demo_run_processes_every_frame_in_order():
    seg, sink = FakeSegmenter(delay_s=0.01), Collect()
    result = Pipeline(DemoSource(SourceOptions(width=32, height=24)), seg, [sink], max_frames=25).run()
    assert result.reason == "frame limit" and result.error is None
    assert seg.calls == list(range(25)) and [s.frame.index for s in sink.segs] == list(range(25))
    assert result.stats.drops == 0 and result.stats.frames == 25 and sink.closed == 1
    r = result.stats.records[-1]
    assert r.stages["model"] == 1.0 and r.render_ms > 0 and r.e2e_ms > 0 and r.age_ms is None


def test_bad_frames_are_counted_logged_and_not_fatal(tmp_path):
    odd = RGBDFrame(np.zeros((10, 12, 3), np.uint8), np.ones((10, 12), np.uint16), 0.001, K.scaled(12, 10), 5)
    items = [frame(0), BadFrame(1, "cannot decode"), frame(2, depth_value=0), frame(3), frame(4), odd]
    seg, sink = FakeSegmenter(reject={3}), Collect()
    log = LatencyLog(tmp_path / "lat.csv")
    video = VideoSink(tmp_path / "v.mp4")
    result = Pipeline(ListSource(items), seg, [sink, video], log=log).run()
    assert result.error is None and result.reason == "end of stream"
    assert result.stats.frames == 6 and result.stats.bad_frames == 4 and result.stats.good_frames == 2
    assert seg.calls == [0, 3, 4]  # the all-zero-depth and wrong-size frames never reach the model
    rows = list(csv.DictReader((tmp_path / "lat.csv").open()))
    assert [r["bad"] for r in rows] == [
        "", "cannot decode", "all-zero depth", "segmenter: frame rejected", "", "wrong size 12x10, expected 32x24"
    ]
    # frames with an image still reach the sinks, unlabeled where no prediction was made
    assert [s.frame.index for s in sink.segs] == [0, 2, 3, 4]
    assert (sink.segs[1].labels == NO_PREDICTION).all() and (sink.segs[0].labels == 2).all()
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4


class EveryThirdKeyframe(FakeSegmenter):
    """Video mode's face: the network on frames 0, 3, 6 ..., a carried result (with a propagate stage) between."""

    def segment(self, frame: RGBDFrame) -> Segmentation:
        seg = super().segment(frame)
        key = frame.index % 3 == 0
        timings = {"upload": 0.1, "spatial": 0.2, "model": 1.0 if key else 0.0, "propagate": 0.0 if key else 0.4,
                   "postprocess": 0.3}
        return Segmentation(frame, seg.labels, timings, keyframe=key)


def test_keyframes_in_the_log_and_summary(tmp_path):
    from app.stats import print_summary

    items = [frame(i) for i in range(6)] + [frame(6, depth_value=0)]
    log = LatencyLog(tmp_path / "lat.csv")
    result = Pipeline(ListSource(items), EveryThirdKeyframe(), [], log=log).run()
    rows = list(csv.DictReader((tmp_path / "lat.csv").open()))
    assert [r["keyframe"] for r in rows] == ["1", "0", "0", "1", "0", "0", ""]  # "": not segmented (no depth)
    assert [r["propagate_ms"] for r in rows[:3]] == ["0.0", "0.4", "0.4"]
    assert result.stats.keyframe_summary() == "keyframes: 2 of 6 segmented frames (33%)"
    table = dict(result.stats.stage_table())
    assert list(table)[:6] == ["capture wait", "upload", "spatial", "model", "propagate", "postprocess"]
    import io

    out = io.StringIO()
    print_summary(result.stats, "t", file=out)
    assert "keyframes: 2 of 6 segmented frames (33%)" in out.getvalue()
    plain = Pipeline(ListSource([frame(0), frame(1)]), FakeSegmenter(), []).run()
    assert plain.stats.keyframe_summary() == "" and "propagate" not in dict(plain.stats.stage_table())


def test_source_error_midway_still_finalizes_outputs(tmp_path):
    def boom():
        raise SourceError("camera unplugged")

    items = [frame(0), frame(1), frame(2), boom]
    src = ListSource(items)
    log = LatencyLog(tmp_path / "lat.jsonl")
    result = Pipeline(src, FakeSegmenter(), [VideoSink(tmp_path / "v.mp4")], log=log).run()
    assert isinstance(result.error, SourceError) and result.reason == "error"
    assert src.started == 1 and src.stopped == 1
    assert len((tmp_path / "lat.jsonl").read_text().splitlines()) == 3
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3


def test_failing_sink_ends_the_run_but_other_sinks_close(tmp_path):
    class Full(Sink):
        def write(self, rendered):
            if rendered.seg.frame.index == 2:
                raise OSError(28, "No space left on device")

        def close(self):
            return []

    other = Collect()
    result = Pipeline(ListSource([frame(i) for i in range(10)]), FakeSegmenter(), [Full(), other]).run()
    assert isinstance(result.error, OSError) and other.closed == 1
    assert result.stats.frames == 2


def test_a_second_output_failing_on_close_is_said_not_dropped():
    """Labels fill the disk first; the ROS bag then cannot be finalized on it either: the run's error
    is the first, and the second output's own line says what became of it (it was silently lost)."""
    from app.sinks.base import OutputError

    class Full(Sink):
        def write(self, rendered):
            if rendered.seg.frame.index == 2:
                raise OutputError("disk full writing the label PNG 000002.png")

        def close(self):
            return ["labels: 2 PNGs (stopped: disk full)"]

    class Unfinishable(Sink):
        def write(self, rendered):
            pass

        def close(self):
            raise OutputError("disk full finalizing the ROS bag out; no bag was written (the partial bag of "
                              "2 frames was removed)")

    other = Collect()
    result = Pipeline(ListSource([frame(i) for i in range(10)]), FakeSegmenter(), [Full(), Unfinishable(), other]).run()
    assert str(result.error) == "disk full writing the label PNG 000002.png" and other.closed == 1
    assert result.sink_lines[:2] == ["labels: 2 PNGs (stopped: disk full)", "disk full finalizing the ROS bag out; "
                                     "no bag was written (the partial bag of 2 frames was removed)"]


def test_stop_from_another_thread():
    started = threading.Event()
    sink = Collect()
    pipe = Pipeline(DemoSource(SourceOptions(width=32, height=24)), FakeSegmenter(delay_s=0.005), [sink],
                    on_record=lambda rec, seg, rendered: started.set())
    stopper = threading.Thread(target=lambda: started.wait(60) and pipe.stop("interrupted"))
    stopper.start()
    result = pipe.run()  # the demo never ends by itself
    stopper.join()
    assert result.reason == "interrupted" and result.error is None and result.stats.frames >= 1
    assert sink.closed == 1 and len(sink.segs) == result.stats.frames


def test_keyboard_interrupt_finalizes_then_propagates(tmp_path):
    class Interrupting(FakeSegmenter):
        def segment(self, frame):
            if frame.index == 3:
                raise KeyboardInterrupt
            return super().segment(frame)

    video = VideoSink(tmp_path / "v.mp4")
    with pytest.raises(KeyboardInterrupt):
        Pipeline(ListSource([frame(i) for i in range(10)]), Interrupting(), [video]).run()
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3


def test_live_source_drops_while_inference_is_busy():
    src = ListSource([frame(i) for i in range(40)], live=True, delay_s=0.005)
    seg = FakeSegmenter(delay_s=0.05)
    result = Pipeline(src, seg).run()
    assert result.error is None
    assert result.stats.drops > 10 and result.stats.frames + result.stats.drops == 40
    assert seg.calls == sorted(seg.calls) and seg.calls[-1] == 39  # the newest frame always wins


def test_newest_wins_queue():
    q = FrameQueue(1, newest_wins=True, stop=threading.Event())
    for i in range(5):
        assert q.put(i)
    assert q.drops == 4 and q.get(0.1) == 4


def test_lossless_queue_blocks_until_stopped():
    stop = threading.Event()
    q = FrameQueue(1, newest_wins=False, stop=stop)
    assert q.put("a")
    results = []
    t = threading.Thread(target=lambda: results.append(q.put("b")))
    t.start()
    t.join(0.2)
    assert t.is_alive()  # blocked: the queue is full and nothing was dropped
    stop.set()
    t.join(2)
    assert results == [False] and q.drops == 0


def test_max_frames_must_be_positive():
    with pytest.raises(ValueError, match="max_frames"):
        Pipeline(DemoSource(), FakeSegmenter(), max_frames=0)


def test_user_error_type_for_source_errors():
    assert issubclass(SourceError, UserError)


def test_a_user_error_from_the_segmenter_ends_the_run_once():
    """A mistake that would repeat on every frame (weights that do not fit, say) is not N bad frames."""

    class Misconfigured(FakeSegmenter):
        def segment(self, frame: RGBDFrame) -> Segmentation:
            self.calls.append(frame.index)
            raise SGNetUserError("the weights do not fit this model")

    seg = Misconfigured()
    result = Pipeline(ListSource([frame(i) for i in range(5)]), seg, [Collect()]).run()
    assert isinstance(result.error, SGNetUserError) and result.reason == "error"
    assert seg.calls == [0] and result.stats.frames == 0


def test_a_segmenter_user_error_is_one_line_on_the_command_line(capsys):
    import typer

    from app.cli_common import run_typer
    from app.live import raise_run_error

    cli = typer.Typer()

    @cli.command()
    def go() -> None:
        result = Pipeline(ListSource([frame(i) for i in range(3)]), _AlwaysWrong(), []).run()
        raise_run_error(result)

    with pytest.raises(SystemExit) as exit_info:
        run_typer(cli, "sgnet-live", [])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and err == ["sgnet-live: error: the weights do not fit this model"]


class _AlwaysWrong:
    def segment(self, frame: RGBDFrame) -> Segmentation:
        raise SGNetUserError("the weights do not fit this model")
