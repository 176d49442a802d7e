"""`--publish URL` and `app.stream.subscribe`: real ZeroMQ sockets on 127.0.0.1.

Every message of a real `sgnet-live` run equals that frame's label PNG; a subscriber that stops
reading costs messages (counted), never frames; the fields asked for are the ones sent; a stream
of another schema version and a silent publisher end as documented; mistakes are one line.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
import zmq
from cli_runner import run_cli
from test_app_cli import LIVE, ROOT, SMALL
from test_app_pipeline import FakeSegmenter, ListSource
from test_app_render_sinks import make_seg

import app
from app.outputs import OutputOptions, check_outputs
from app.pipeline import Pipeline
from app.sinks.base import Rendered
from app.sinks.publish import PublishSink
from app.sources.base import SourceInfo, SourceOptions
from app.sources.demo import DemoSource
from app.stream import SCHEMA, StreamError, subscribe
from assets import class_names
from sgnet.errors import SGNetUserError
from sgnet.frames import Intrinsics, RGBDFrame


def free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


@contextlib.contextmanager
def zmq_socket(kind: int, bind: str | None = None, connect: str | None = None) -> Iterator[zmq.Socket]:
    """A raw ZeroMQ socket (a SUB subscribes to everything) on its own context, closed after."""
    ctx = zmq.Context()
    sock = ctx.socket(kind)
    try:
        if kind == zmq.SUB:
            sock.setsockopt(zmq.RCVHWM, 1)
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        if bind:
            sock.bind(bind)
        if connect:
            sock.connect(connect)
        yield sock
    finally:
        sock.close(0)
        ctx.term()


def wait_for_subscriber(sink: PublishSink) -> None:
    assert sink.wait_for_subscriber(10), "the subscriber never connected"


def test_every_message_of_a_live_run_is_its_frames_labels(tmp_path):
    """A subscriber that joins while the model loads gets every frame from the first it sees on; each
    message's labels equal the frame's --save-labels PNG, its confidence the _conf.png, its depth
    the demo's; the run's line counts what each message became."""
    url, out, n = free_url(), tmp_path / "labels", 10
    args = ["--camera", "demo", "--headless", "--frames", n, *SMALL, "--quiet", "--publish", url,
            "--publish-fields", "depth,confidence", "--save-labels", out, "--save-confidence"]
    with subscribe(url, timeout_s=120) as sub, \
            subprocess.Popen(LIVE + [str(a) for a in args], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) as proc:
        msgs = []
        for msg in sub:  # ends at the last frame (or, if the run failed, after 120 s of silence)
            msgs.append(msg)
            if msg.index == n - 1:
                break
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    line = next(x for x in err.splitlines() if x.startswith("sgnet-live: publish:"))
    unheard = n - len(msgs)
    assert line == (f"sgnet-live: publish: {n} messages on {url} (labels, confidence, depth): {len(msgs)} sent, 0 "
                    f"dropped (a subscriber not keeping up), {unheard} with no subscriber connected")
    assert len(msgs) >= 2 and sub.lost == 0  # the first frames may pass before the subscription is made (busy CI)
    assert [m.index for m in msgs] == list(range(unheard, n)) and [m.seq for m in msgs] == list(range(unheard, n))
    demo = DemoSource(SourceOptions(width=64, height=48))
    for m in msgs:
        png = cv2.imread(str(out / f"{m.index:06d}.png"), cv2.IMREAD_UNCHANGED)
        conf = cv2.imread(str(out / f"{m.index:06d}_conf.png"), cv2.IMREAD_UNCHANGED)
        assert m.labels.shape == (48, 64) and m.labels.dtype == np.uint8
        np.testing.assert_array_equal(m.labels, png)
        np.testing.assert_array_equal(np.rint(m.confidence * 255).astype(np.uint8), conf)
        np.testing.assert_array_equal(m.depth, demo.image(m.index)[1])
        assert m.color is None
    m = msgs[-1]
    assert m.intrinsics == demo.intrinsics and m.depth_scale == demo.depth_scale
    assert m.class_names == class_names() and m.header["classes"]["key"] == "nyu40"
    assert m.header["model"] == {"name": "sgnet_lite", "engine": "torch", "precision": "fp32", "device": "cpu"}
    assert m.timestamps["device_ms"] == pytest.approx(m.index * 1000 / 30) and m.timings["model"] > 0
    assert m.timestamps["sent_ns"] > m.timestamps["arrived_ns"] and 0 < m.latency_ms < 5000


def big_frame(i: int) -> RGBDFrame:
    k = Intrinsics(640, 480, 600.0, 600.0, 319.5, 239.5)
    return RGBDFrame(np.full((480, 640, 3), i % 256, np.uint8), np.full((480, 640), 1000 + i, np.uint16), 0.001, k,
                     i, i * 33.3, time.monotonic_ns())


def run_pipeline(sink: PublishSink, frames: int) -> tuple[int, list[str]]:
    """Frames processed by a real pipeline feeding `sink` (fails instead of hanging if a send blocks)."""
    source = ListSource([big_frame(i) for i in range(frames)])
    source._info = SourceInfo("demo", "640x480 frames", 640, 480, 30.0, live=False)
    done: list = []
    thread = threading.Thread(target=lambda: done.append(Pipeline(source, FakeSegmenter(), [sink]).run()),
                              daemon=True)
    thread.start()
    thread.join(60)
    assert done, "the pipeline did not finish: a send blocked it"
    assert done[0].error is None
    return done[0].stats.frames, done[0].sink_lines


def test_a_stalled_subscriber_costs_messages_not_frames():
    """3 MB messages (all fields at 640x480) to a subscriber that never reads: the socket buffers
    and the high-water mark fill, then messages are dropped and counted; every frame is processed,
    as many as with nobody subscribed."""
    url, n = free_url(), 60
    fields = ("labels", "confidence", "depth", "color")
    alone = PublishSink(url, fields)
    assert run_pipeline(alone, n)[0] == n and (alone.sent, alone.dropped, alone.unheard) == (0, 0, n)
    sink = PublishSink(url, fields)
    with zmq_socket(zmq.SUB, connect=url):  # never reads
        wait_for_subscriber(sink)
        frames, lines = run_pipeline(sink, n)
    assert frames == n
    assert sink.dropped > 0 and sink.sent + sink.dropped == n and sink.unheard == 0 and sink.subscribed
    assert lines == [f"publish: {n} messages on {url} (labels, confidence, depth, color): {sink.sent} sent, "
                     f"{sink.dropped} dropped (a subscriber not keeping up), 0 with no subscriber connected"]


@pytest.mark.parametrize(("fields", "kind"), [(("labels",), "ipc"), (("labels", "color"), "tcp"),
                                             (("labels", "confidence", "depth", "color"), "tcp")])
def test_a_message_holds_the_fields_asked_for(tmp_path, fields, kind):
    url = free_url() if kind == "tcp" else f"ipc://{tmp_path}/sgnet"
    sink = PublishSink(url, fields)
    with app.subscribe(url, timeout_s=10) as sub:  # the lazy re-export is the same function
        wait_for_subscriber(sink)
        seg = make_seg(7)
        sink.write(Rendered(seg))
        msg = next(sub)
        sink.close()
    assert [a["name"] for a in msg.header["arrays"]] == list(fields)
    np.testing.assert_array_equal(msg.labels, seg.labels)
    assert msg.labels.dtype == np.uint8 and not msg.labels.flags.writeable
    f = seg.frame
    for name, want in (("color", f.color), ("depth", f.depth), ("confidence", np.zeros((32, 48), np.float32))):
        got = getattr(msg, name)
        if name in fields:
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)  # make_seg has no confidence: zeros
        else:
            assert got is None
    assert (msg.index, msg.seq, msg.header["width"], msg.header["height"]) == (7, 0, 48, 32)
    assert msg.intrinsics == f.intrinsics and msg.timestamps["device_ms"] == f.device_ts_ms
    assert msg.header["schema"] == SCHEMA and msg.header["version"] == 1 and msg.header["no_prediction"] == 255
    assert sink.sent == 1


def test_another_schema_version_is_refused_and_silence_ends_the_iteration():
    url = free_url()
    with zmq_socket(zmq.XPUB, bind=url) as pub, subscribe(url, timeout_s=10) as sub:
        assert pub.poll(10_000) and pub.recv() == b"\x01"  # subscribed: the message will reach it
        pub.send_multipart([json.dumps({"schema": SCHEMA, "version": 2}).encode(), b"\0"])
        with pytest.raises(StreamError) as e:
            next(sub)
        assert str(e.value) == (f"the publisher sends {SCHEMA} version 2, this app.stream reads version 1: "
                                "use the same sgnet-live version on both sides (docs/stream.md)")
        pub.send_multipart([b"hello", b"world"])
        with pytest.raises(StreamError, match="not an sgnet-live stream"):
            next(sub)
    with subscribe(free_url(), timeout_s=0.2) as quiet:
        assert list(quiet) == [] and quiet.timed_out and quiet.received == 0


@pytest.mark.parametrize(("options", "line"), [
    (OutputOptions(publish="localhost:5555"), "--publish 'localhost:5555' is not a ZeroMQ address: use tcp://HOST:PORT "
     "(e.g. tcp://127.0.0.1:5555, tcp://*:5555 for every interface) or ipc://PATH (e.g. ipc:///tmp/sgnet)"),
    (OutputOptions(publish="tcp://127.0.0.1:0"), "--publish tcp://127.0.0.1:0: the port must be 1..65535 "
     "(e.g. tcp://127.0.0.1:5555)"),
    (OutputOptions(publish="tcp://127.0.0.1:5555", publish_fields="labels,colour"), "--publish-fields: unknown field "
     "'colour'; choose from labels, confidence, depth, color (comma-separated, e.g. labels,depth)"),
    (OutputOptions(publish_fields="depth"), "--publish-fields chooses what --publish sends: add --publish URL"),
])
def test_mistakes_are_one_line_before_the_run(options, line):
    with pytest.raises(SGNetUserError) as e:
        check_outputs(options)
    assert str(e.value) == line


@pytest.mark.parametrize("kind", ["tcp", "ipc"])
def test_an_address_in_use_ends_the_run_before_it_starts(tmp_path, kind):
    """An address another publisher holds is one line, from the check and from the sink alike; for
    ipc:// that publisher keeps its address (ZeroMQ alone would take the socket file over)."""
    url = free_url() if kind == "tcp" else f"ipc://{tmp_path}/sgnet.sock"
    with zmq_socket(zmq.XPUB, bind=url) as other:
        for attempt in (lambda: check_outputs(OutputOptions(publish=url)), lambda: PublishSink(url)):
            with pytest.raises(SGNetUserError) as e:
                attempt()
            assert str(e.value) == (f"--publish {url}: cannot publish there: the address is in use (another "
                                    "sgnet-live or program publishes there: choose another port or path, or stop it)")
        with subscribe(url):
            assert other.poll(10_000)  # still the one subscribers reach
    check_outputs(OutputOptions(publish=url))  # released: a stale socket file does not count as in use
    PublishSink(url).close()


def test_bench_stream_times_messages_received_in_another_process(tmp_path):
    out = tmp_path / "stream.json"
    assert run_cli(["bench", "stream", "--size", "48x64", "--messages", "5", "--warmup", "1", "--fps", "200",
                    "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    assert (got["received"], got["dropped"], got["lost"], got["fields"]) == (6, 0, 0, ["labels", "depth"])
    assert got["message_mb"] == pytest.approx(48 * 64 * 3 / 1e6, abs=0.005)  # labels + depth + a JSON header
    assert 0 < got["publish_to_receive"]["p50_ms"] <= got["publish_to_receive"]["max_ms"] < 5000


def test_the_subscribe_example_prints_the_classes_in_view_and_the_latency(capsys):
    import runpy

    example = runpy.run_path(str(ROOT / "examples" / "subscribe.py"))
    url = free_url()
    sink = PublishSink(url, ("labels", "depth"))
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(example["main"]([url, "--count", "2", "--timeout", "10"])))
    thread.start()
    wait_for_subscriber(sink)
    for i in (3, 4):
        sink.write(Rendered(make_seg(i)))
    thread.join(30)
    sink.close()
    assert codes == [0]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("frame 3: ") and lines[1].startswith("frame 4: ")
    assert " m, " in lines[0] and lines[0].endswith(" ms after publishing")  # depth was sent: distances
    assert lines[2].startswith("done: 2 messages received, 0 lost, latency p50 ")
