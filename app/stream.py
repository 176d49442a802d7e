"""Labels out to other programs, live: the message schema and `subscribe`.

`sgnet-live --publish URL` sends one ZeroMQ multipart message per segmented frame (the sink is
`app.sinks.publish.PublishSink`); this module is the one place that says what a message holds,
so the publisher and every subscriber agree. Users import `subscribe` from here:

    from app.stream import subscribe
    for msg in subscribe("tcp://127.0.0.1:5555", timeout_s=5):
        print(msg.index, msg.class_names[msg.labels[240, 320]], f"{msg.latency_ms:.1f} ms")

Schema `sgnet-live/labels`, version 1 (docs/stream.md is the full description):
- part 0: a UTF-8 JSON header: schema, version, seq (message counter of this publisher, from 0:
  a gap = messages this subscriber lost), index (the frame index of the latency log and label
  PNGs), keyframe, width, height, timestamps {device_ms, arrived_ns, sent_ns, sent_unix_ns},
  intrinsics {width, height, fx, fy, cx, cy}, depth_scale (metres per depth unit), classes {key,
  names, hash}, no_prediction (255), model {name, engine, precision, device}, timings_ms (per
  stage), arrays [{name, dtype, shape}, ...];
- parts 1..n: the raw bytes of each array named in `arrays`, in that order, C order, little-endian:
  labels (uint8 HxW, always first), then as asked with --publish-fields: confidence (float32 HxW,
  0..1), depth (uint16 HxW raw units; x depth_scale = metres), color (uint8 HxWx3 RGB).

Versioning: adding header keys or array names keeps the version (readers ignore what they do not
know); changing or removing anything bumps it, and `subscribe` refuses another version with one
line (`StreamError`) instead of misreading the bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserError
from sgnet.frames import NO_PREDICTION, Intrinsics, Segmentation

SCHEMA = "sgnet-live/labels"
SCHEMA_VERSION = 1
FIELDS = ("labels", "confidence", "depth", "color")  # what --publish-fields may name, in message order
DTYPES = {"uint8": np.uint8, "uint16": np.dtype("<u2"), "float32": np.dtype("<f4")}
SUBSCRIBE_HWM = 4  # messages a subscriber's queue holds before its publisher counts drops

_TCP = re.compile(r"^tcp://(?P<host>\[[0-9a-fA-F:.]+\]|[^:/\[\]]+):(?P<port>\d+)$")


class StreamError(UserError):
    """A stream that cannot be read: another schema or version, a malformed message, a bad URL."""


@dataclass(frozen=True)
class RunInfo:
    """What labelled the frames, for the header's `model` (and the ROS bag's metadata)."""

    model: str = ""
    engine: str = ""
    precision: str = ""
    device: str = ""

    @classmethod
    def of(cls, segmenter: Any) -> RunInfo:
        """Read from a `Segmenter` (or a stand-in that lacks some of these)."""
        return cls(str(getattr(segmenter, "model_name", "")), str(getattr(segmenter, "engine_name", "torch")),
                   str(getattr(segmenter, "precision", "")), str(getattr(segmenter, "device", "")))


def check_url(url: str, option: str = "--publish") -> str:
    """The URL stripped, if it has a form a PUB socket can bind: tcp://HOST:PORT or ipc://PATH."""
    url = url.strip()
    m = _TCP.match(url)
    if m:
        if not 1 <= int(m["port"]) <= 65535:
            raise UserError(f"{option} {url}: the port must be 1..65535 (e.g. tcp://127.0.0.1:5555)")
        return url
    if url.startswith("ipc://") and len(url) > len("ipc://"):
        folder = Path(url[len("ipc://"):]).parent  # ZeroMQ takes the path as it is (no ~)
        if not folder.is_dir():
            raise UserError(f"{option} {url}: folder {folder} does not exist (e.g. ipc:///tmp/sgnet)")
        return url
    raise UserError(f"{option} {url!r} is not a ZeroMQ address: use tcp://HOST:PORT (e.g. tcp://127.0.0.1:5555, "
                    "tcp://*:5555 for every interface) or ipc://PATH (e.g. ipc:///tmp/sgnet)")


def parse_fields(text: str) -> tuple[str, ...]:
    """--publish-fields "depth,labels" -> ("labels", "depth"): labels always first, message order."""
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = sorted(names - set(FIELDS))
    if unknown:
        raise UserError(f"--publish-fields: unknown field {unknown[0]!r}; choose from {', '.join(FIELDS)} "
                        "(comma-separated, e.g. labels,depth)")
    return tuple(f for f in FIELDS if f == "labels" or f in names)


def _class_hash(names: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def _arrays(seg: Segmentation, fields: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    f = seg.frame
    have = {
        "labels": lambda: seg.labels,
        "confidence": lambda: np.zeros(seg.labels.shape, np.float32) if seg.confidence is None else seg.confidence,
        "depth": lambda: f.depth,
        "color": lambda: f.color,
    }
    out = []
    for name in fields:
        a = np.ascontiguousarray(have[name]())
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        out.append((name, a))
    return out


def encode(seg: Segmentation, fields: tuple[str, ...], seq: int, run: RunInfo) -> list[Any]:
    """One message: the JSON header, then the arrays (zero-copy buffers)."""
    f, k, c = seg.frame, seg.frame.intrinsics, seg.classes
    arrays = _arrays(seg, fields)
    header = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "seq": seq,
        "index": f.index,
        "keyframe": seg.keyframe,
        "width": f.width,
        "height": f.height,
        "timestamps": {"device_ms": f.device_ts_ms, "arrived_ns": f.arrived_ns, "sent_ns": time.monotonic_ns(),
                       "sent_unix_ns": time.time_ns()},
        "intrinsics": {"width": k.width, "height": k.height, "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy},
        "depth_scale": f.depth_scale,
        "classes": {"key": c.key, "names": list(c.names), "hash": _class_hash(c.names)},
        "no_prediction": NO_PREDICTION,
        "model": {"name": run.model, "engine": run.engine, "precision": run.precision, "device": run.device},
        "timings_ms": dict(seg.timings),
        "arrays": [{"name": n, "dtype": str(a.dtype.name), "shape": list(a.shape)} for n, a in arrays],
    }
    return [json.dumps(header, separators=(",", ":")).encode(), *(a for _, a in arrays)]


@dataclass(frozen=True)
class LabelsMessage:
    """One received frame's result; arrays are read-only views of the received bytes."""

    header: dict[str, Any]
    labels: np.ndarray  # uint8 HxW class ids, 255 = no prediction
    confidence: np.ndarray | None  # float32 HxW 0..1, when published
    depth: np.ndarray | None  # uint16 HxW raw units (x depth_scale = metres), when published
    color: np.ndarray | None  # uint8 HxWx3 RGB, when published
    received_ns: int  # time.monotonic_ns() on arrival
    received_unix_ns: int  # time.time_ns() on arrival

    @property
    def index(self) -> int:
        return int(self.header["index"])

    @property
    def seq(self) -> int:
        return int(self.header["seq"])

    @property
    def intrinsics(self) -> Intrinsics:
        return Intrinsics(**self.header["intrinsics"])

    @property
    def depth_scale(self) -> float:
        return float(self.header["depth_scale"])

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.header["classes"]["names"])

    @property
    def timings(self) -> dict[str, float]:
        """Per-stage milliseconds of the segmenter for this frame."""
        return dict(self.header["timings_ms"])

    @property
    def timestamps(self) -> dict[str, float | int]:
        """device_ms (the source's clock), arrived_ns and sent_ns (publisher's time.monotonic_ns),
        sent_unix_ns (publisher's time.time_ns), received_ns / received_unix_ns (this process)."""
        return {**self.header["timestamps"], "received_ns": self.received_ns,
                "received_unix_ns": self.received_unix_ns}

    @property
    def latency_ms(self) -> float:
        """Publish -> receive, by the wall clocks (exact on one machine; across machines as good as
        their clock sync)."""
        return (self.received_unix_ns - int(self.header["timestamps"]["sent_unix_ns"])) / 1e6


def decode(parts: list[Any], received_ns: int | None = None, received_unix_ns: int | None = None) -> LabelsMessage:
    """A received multipart message -> `LabelsMessage`; `StreamError` if it is not ours or not v1."""
    try:
        header = json.loads(bytes(parts[0]))
        schema, version = header.get("schema"), header.get("version")
    except (ValueError, IndexError, AttributeError):
        raise StreamError("a message that is not an sgnet-live stream (no JSON header): is another program "
                          "publishing on this address?") from None
    if schema != SCHEMA:
        raise StreamError(f"a message of schema {schema!r}, not {SCHEMA!r}: is another program publishing here?")
    if version != SCHEMA_VERSION:
        raise StreamError(f"the publisher sends {SCHEMA} version {version}, this app.stream reads version "
                          f"{SCHEMA_VERSION}: use the same sgnet-live version on both sides (docs/stream.md)")
    specs = header.get("arrays", [])
    if len(specs) != len(parts) - 1:
        raise StreamError(f"malformed message: the header lists {len(specs)} arrays, {len(parts) - 1} followed")
    arrays: dict[str, np.ndarray] = {}
    for spec, part in zip(specs, parts[1:], strict=True):
        dtype = DTYPES.get(spec["dtype"])
        if dtype is None:
            continue  # an array type this reader does not know (a later addition): skipped
        buf = part.buffer if hasattr(part, "buffer") else part
        a = np.frombuffer(buf, dtype=dtype)
        if a.size != int(np.prod(spec["shape"])):
            raise StreamError(f"malformed message: array {spec['name']} has {a.size} values for shape {spec['shape']}")
        a = a.reshape(spec["shape"])
        a.flags.writeable = False  # a view of the received bytes: copy it to change it
        arrays[spec["name"]] = a
    if "labels" not in arrays:
        raise StreamError("malformed message: no labels array")
    return LabelsMessage(header, arrays["labels"], arrays.get("confidence"), arrays.get("depth"), arrays.get("color"),
                         time.monotonic_ns() if received_ns is None else received_ns,
                         time.time_ns() if received_unix_ns is None else received_unix_ns)


class Subscription:
    """Iterates over the messages of a publisher (connects to `url`; the publisher binds).

    With `timeout_s`, iteration ends (the `for` loop simply finishes) when nothing has arrived for
    that long, and `timed_out` is set; without it, it waits for ever. `lost` counts messages this
    subscriber missed (gaps in `seq`: it read too slowly, or the network dropped them); messages
    sent before it connected are not counted (ZeroMQ's subscribers join a running stream).
    """

    def __init__(self, url: str, timeout_s: float | None = None, hwm: int = SUBSCRIBE_HWM) -> None:
        import zmq

        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive or None, got {timeout_s}")
        self.url = url.strip()
        self.timeout_s = timeout_s
        self.received = 0
        self.lost = 0
        self.timed_out = False
        self._last_seq: int | None = None
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.SUB)
        self._sock.setsockopt(zmq.RCVHWM, hwm)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.IPV6, 1)
        try:
            self._sock.connect(self.url)
        except zmq.ZMQError as e:
            self.close()
            raise StreamError(f"cannot subscribe to {self.url!r}: {e} (use tcp://HOST:PORT or ipc://PATH)") from None
        self._sock.setsockopt(zmq.SUBSCRIBE, b"")

    def __iter__(self) -> Iterator[LabelsMessage]:
        return self

    def __next__(self) -> LabelsMessage:
        if self._sock.closed:
            raise StopIteration
        wait_ms = None if self.timeout_s is None else int(self.timeout_s * 1000)
        if not self._sock.poll(wait_ms):
            self.timed_out = True
            raise StopIteration
        parts = self._sock.recv_multipart(copy=False)
        msg = decode(parts)
        if self._last_seq is not None and msg.seq > self._last_seq + 1:
            self.lost += msg.seq - self._last_seq - 1
        self._last_seq = msg.seq
        self.received += 1
        return msg

    def close(self) -> None:
        self._sock.close(0)
        self._ctx.term()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def subscribe(url: str, timeout_s: float | None = None, hwm: int = SUBSCRIBE_HWM) -> Subscription:
    """Connect to an `sgnet-live --publish URL` stream; iterate for `LabelsMessage`s (see `Subscription`)."""
    return Subscription(url, timeout_s, hwm)
