"""`sgnet bench stream`: publish -> receive latency of `--publish` on this machine (loopback or ipc)."""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import typer

from app.commands.common import check_json_output, parse_hw, write_json
from app.errors import UserError

RECEIVER = "from app.commands.bench_stream_cmd import receive; import sys; receive(sys.argv[1], int(sys.argv[2]))"


def receive(url: str, total: int) -> None:
    """The subscriber process: prints one JSON line {"latency_ms": [...], "received": n, "lost": n}.
    Latency = its time.monotonic_ns() after decoding - the publisher's at send (one machine: one clock)."""
    from app.stream import subscribe

    lat = []
    with subscribe(url, timeout_s=10) as sub:
        for msg in sub:
            lat.append((msg.received_ns - msg.timestamps["sent_ns"]) / 1e6)
            if msg.seq == total - 1:
                break
        print(json.dumps({"latency_ms": lat, "received": sub.received, "lost": sub.lost}))


def _free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(math.ceil(q * len(s)) - 1, 0))]


def _frame(h: int, w: int):  # noqa: ANN202 - a Segmentation
    import numpy as np

    from sgnet.frames import Intrinsics, RGBDFrame, Segmentation

    rng = np.random.default_rng(0)
    k = Intrinsics(w, h, 0.9 * w, 0.9 * w, (w - 1) / 2, (h - 1) / 2)
    frame = RGBDFrame(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), rng.integers(300, 5000, (h, w), dtype=np.uint16),
                      0.001, k, 0, 0.0, time.monotonic_ns())
    return Segmentation(frame, rng.integers(0, 40, (h, w), dtype=np.uint8),
                        {"upload": 0.1, "spatial": 0.5, "model": 10.0, "postprocess": 1.0},
                        confidence=rng.random((h, w), dtype=np.float32))


def bench_stream(
    size: str = typer.Option("480x640", help="Frame size HxW."),
    fields: str = typer.Option("labels,depth", help="What each message carries (as --publish-fields)."),
    messages: int = typer.Option(300, "--messages", help="Timed messages (after the warm-up)."),
    warmup: int = typer.Option(20, help="Untimed messages first."),
    fps: float = typer.Option(30.0, help="Messages per second, as a camera would send them."),
    url: str | None = typer.Option(None, help="Where to publish (default: a free tcp port on 127.0.0.1; "
                                   "ipc:///tmp/NAME for a Unix socket)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the figures as JSON."),
) -> None:
    """Time --publish: a subscriber in another process (app.stream.subscribe) receives paced
    messages; reported: publish -> receive ms (from the publisher's clock at send to the subscriber's
    after decoding, one monotonic clock) and the publisher's own cost per frame (the pipeline's
    sink time), with the machine's load.

    Examples:

      sgnet bench stream

      sgnet bench stream --fields labels,confidence,depth,color --json benchmarks/stream-all.json
    """
    from rich.console import Console
    from rich.table import Table

    from app.sinks.base import Rendered
    from app.sinks.publish import PublishSink
    from app.stream import check_url, encode, parse_fields

    h, w = parse_hw(size, "--size", minimum=8)
    if messages < 1 or warmup < 0 or fps <= 0:
        raise UserError("--messages must be >= 1, --warmup >= 0, --fps > 0")
    check_json_output(json_out)
    chosen = parse_fields(fields)
    url = check_url(url, "--url") if url else _free_url()
    total = warmup + messages
    sink = PublishSink(url, chosen)
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, url, str(total)], stdout=subprocess.PIPE, text=True)
    console = Console()
    try:
        if not sink.wait_for_subscriber(60):
            raise UserError("sgnet bench stream: the subscriber process did not connect")
        time.sleep(0.2)  # the subscriber's first poll
        rendered = Rendered(_frame(h, w))
        load_before = os.getloadavg()
        write_ms = []
        t0 = time.monotonic()
        with console.status(f"{total} messages at {fps:g}/s"):
            for i in range(total):
                time.sleep(max(0.0, t0 + i / fps - time.monotonic()))
                c = time.perf_counter()
                sink.write(rendered)
                write_ms.append((time.perf_counter() - c) * 1000.0)
            out, _ = receiver.communicate(timeout=60)
        load_after = os.getloadavg()
    finally:
        sink.close()
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    got = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"latency_ms": [], "received": 0, "lost": 0}
    lat = got["latency_ms"][warmup:] if len(got["latency_ms"]) > warmup else got["latency_ms"]
    if not lat:
        raise UserError("sgnet bench stream: the subscriber received nothing")
    write_ms = write_ms[warmup:]
    parts = encode(rendered.seg, chosen, 0, sink.run)
    mb = sum(len(p) if isinstance(p, bytes) else p.nbytes for p in parts) / 1e6
    stats = {
        "p50_ms": statistics.median(lat), "p90_ms": _pct(lat, 0.9), "p99_ms": _pct(lat, 0.99), "max_ms": max(lat),
        "mean_ms": statistics.fmean(lat),
    }
    pub = {"p50_ms": statistics.median(write_ms), "p90_ms": _pct(write_ms, 0.9), "max_ms": max(write_ms)}
    table = Table(title=f"--publish {url}: {h}x{w} {','.join(chosen)} ({mb:.2f} MB/message), {fps:g}/s")
    for col in ("", "p50", "p90", "p99", "max"):
        table.add_column(col, justify="left" if not col else "right")
    table.add_row("publish -> receive ms", *(f"{stats[k]:.2f}" for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")))
    table.add_row("publisher write ms", f"{pub['p50_ms']:.2f}", f"{pub['p90_ms']:.2f}", "", f"{pub['max_ms']:.2f}")
    console.print(table)
    console.print(f"{len(lat)} timed of {got['received']} received, {sink.dropped} dropped, {got['lost']} lost; "
                  f"load average {load_before[0]:.2f} -> {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    if json_out is not None:
        import torch

        from ops.bench import device_name

        write_json(json_out, {
            "benchmark": "sgnet bench stream",
            "device_name": device_name(torch.device("cpu")),
            "url": url,
            "size": [h, w],
            "fields": list(chosen),
            "message_mb": mb,
            "fps": fps,
            "messages": messages,
            "warmup": warmup,
            "received": got["received"],
            "dropped": sink.dropped,
            "lost": got["lost"],
            "load_average_before": list(load_before),
            "load_average_after": list(load_after),
            "publish_to_receive": stats,
            "publisher_write": pub,
        })
