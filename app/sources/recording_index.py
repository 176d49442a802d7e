"""What a RealSense recording should hold, read from its own index before librealsense plays it.

- ROS2 `.db3` (SQLite, librealsense >= 2.58): the `topics` and `messages` tables give per-topic
  message counts; the small static records (stream info, camera info, option values) are
  read and parsed too, because librealsense hangs or crashes on some of them missing.
- ROS1 `.bag` (v2.0): the index at the end of the file (connection records + chunk info
  records) gives per-topic message counts without reading the chunks.

Image topics are `/device_D/sensor_S/<Stream>_I/image/data[/compressed...]`; a `.db3` also
writes exactly one `.../image/metadata` message per frame, so a stream whose image count falls
short of its metadata count lost images. Problems are one-line reasons (`RecordingIndexError`), never
tracebacks: a file whose index cannot be read is damaged.
"""

from __future__ import annotations

import re
import sqlite3
import struct
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_TOPIC = re.compile(r"^/device_(\d+)/sensor_(\d+)/(\w+?)_(\d+)/image/data(/.*)?$")
METADATA_TOPIC = re.compile(r"^/device_(\d+)/sensor_(\d+)/(\w+?)_(\d+)/image/metadata$")
OPTION_DESCRIPTION = re.compile(r"^(/device_\d+/sensor_\d+/option/[^/]+)/description$")
STREAMS = ("depth", "color")


class RecordingIndexError(Exception):
    """The index or a record librealsense needs is missing or unreadable (one line for the user)."""


@dataclass(frozen=True)
class RecordingIndex:
    """Per-stream counts a recording's index promises (streams named "depth", "color", ...)."""

    format: str  # "db3" or "bag"
    images: dict[str, int]  # stream -> image messages in the file
    frame_records: dict[str, int] = field(default_factory=dict)  # .db3: stream -> per-frame metadata messages

    def expected(self, stream: str) -> int:
        """How many frames of `stream` the file should play: its images, or its per-frame records
        where images were lost from the file."""
        return max(self.images.get(stream, 0), self.frame_records.get(stream, 0))

    def missing_images(self) -> dict[str, int]:
        """stream -> frames recorded (a metadata record exists) whose image is not in the file."""
        return {s: n - self.images.get(s, 0) for s, n in self.frame_records.items() if n > self.images.get(s, 0)}


def read_index(path: Path, fmt: str) -> RecordingIndex:
    """The index of a "db3" or "bag" file; RecordingIndexError says what is wrong with it."""
    return _read_db3(path) if fmt == "db3" else _read_bag(path)


def _stream_of(topic: str, pattern: re.Pattern[str]) -> str | None:
    m = pattern.match(topic)
    return m.group(3).lower() if m else None


# --- ROS2 .db3 ------------------------------------------------------------------------------


def _read_db3(path: Path) -> RecordingIndex:
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise RecordingIndexError(f"its SQLite database cannot be opened ({e})") from None
    try:
        topics = dict(db.execute("SELECT id, name FROM topics").fetchall())
        counts = dict(db.execute("SELECT topic_id, COUNT(*) FROM messages GROUP BY topic_id").fetchall())
        by_name = {name: counts.get(tid, 0) for tid, name in topics.items()}
        _check_db3_records(db, topics, by_name)
    except sqlite3.Error as e:
        raise RecordingIndexError(f"its SQLite database is unreadable ({e})") from None
    finally:
        db.close()
    images: dict[str, int] = {}
    records: dict[str, int] = {}
    for name, n in by_name.items():
        if (s := _stream_of(name, IMAGE_TOPIC)) is not None:
            images[s] = images.get(s, 0) + n
        elif (s := _stream_of(name, METADATA_TOPIC)) is not None:
            records[s] = records.get(s, 0) + n
    return RecordingIndex("db3", images, records)


def _cdr_string(blob: bytes) -> str | None:
    """A std_msgs/String in CDR (4-byte encapsulation header, uint32 length, bytes, NUL)."""
    if len(blob) < 9 or blob[:2] != b"\x00\x01":
        return None
    (n,) = struct.unpack_from("<I", blob, 4)
    if n < 1 or 8 + n > len(blob):
        return None
    try:
        return blob[8 : 8 + n - 1].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _fields(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    return dict(part.split("=", 1) for part in text.split(";") if "=" in part)


def _first_message(db: sqlite3.Connection, topic_id: int) -> bytes | None:
    row = db.execute("SELECT data FROM messages WHERE topic_id = ? ORDER BY timestamp LIMIT 1", (topic_id,)).fetchone()
    return bytes(row[0]) if row and row[0] is not None else None


def _check_db3_records(db: sqlite3.Connection, topics: dict[int, str], counts: dict[str, int]) -> None:
    """The static records librealsense needs for every recorded stream must be there and parse:
    without them it stops with an error at best, hangs or crashes at worst."""
    ids = {name: tid for tid, name in topics.items()}
    if not counts.get("/file_version"):
        raise RecordingIndexError("its /file_version record is missing")
    for name in topics.values():
        m = IMAGE_TOPIC.match(name)
        if not m:
            continue
        prefix = name[: name.index("/image/")]
        stream = m.group(3).lower()
        info = _fields(_cdr_string(_first_message(db, ids[f"{prefix}/info"]) or b"")) if f"{prefix}/info" in ids else {}
        if not {"encoding", "fps"} <= info.keys() or not info["fps"].strip().isdigit():
            raise RecordingIndexError(f"the {stream} stream's info record ({prefix}/info) is missing or unreadable")
        cam_topic = f"{prefix}/camera_info"
        cam = _fields(_cdr_string(_first_message(db, ids[cam_topic]) or b"")) if cam_topic in ids else {}
        if not all(_is_number(cam.get(k)) for k in ("width", "height", "fx", "fy", "ppx", "ppy")):
            raise RecordingIndexError(
                f"the {stream} stream's camera record ({cam_topic}) is missing or unreadable"
            )
    for name, n in counts.items():
        m = OPTION_DESCRIPTION.match(name)
        if m and n and not counts.get(f"{m.group(1)}/value"):
            raise RecordingIndexError(f"the option record {m.group(1)}/value is missing")


def _is_number(text: str | None) -> bool:
    try:
        return text is not None and float(text) == float(text)
    except ValueError:
        return False


# --- ROS1 .bag (format 2.0) ---------------------------------------------------------------

BAG_MAGIC = b"#ROSBAG V2.0\n"
OP_BAG_HEADER, OP_CONNECTION, OP_CHUNK_INFO = 0x03, 0x07, 0x06
MAX_HEADER = 1 << 20  # a record header longer than this is garbage, not a header


def _read_bag(path: Path) -> RecordingIndex:
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(len(BAG_MAGIC))
            header, _ = _record(f, size)
            if _op(header) != OP_BAG_HEADER:
                raise RecordingIndexError("its bag header record is damaged")
            index_pos = _u(header, "index_pos", "<Q")
            conn_count, chunk_count = _u(header, "conn_count", "<I"), _u(header, "chunk_count", "<I")
            if index_pos == 0:
                raise RecordingIndexError("it has no index (the recording was not closed properly)")
            if not len(BAG_MAGIC) < index_pos < size:
                raise RecordingIndexError("its index position points outside the file")
            f.seek(index_pos)
            topics: dict[int, str] = {}
            for _ in range(conn_count):
                h, _ = _record(f, size)
                if _op(h) != OP_CONNECTION:
                    raise RecordingIndexError("its index is damaged (a connection record is unreadable)")
                topics[_u(h, "conn", "<I")] = h.get("topic", b"").decode("utf-8", "replace")
            counts: dict[str, int] = dict.fromkeys(topics.values(), 0)
            for _ in range(chunk_count):
                h, data = _record(f, size)
                if _op(h) != OP_CHUNK_INFO or len(data) != 8 * _u(h, "count", "<I"):
                    raise RecordingIndexError("its index is damaged (a chunk info record is unreadable)")
                for conn, n in struct.iter_unpack("<II", data):
                    if conn not in topics:
                        raise RecordingIndexError("its index is damaged (a chunk lists an unknown connection)")
                    counts[topics[conn]] += n
    except OSError as e:
        raise RecordingIndexError(f"it cannot be read ({e.strerror or e})") from None
    _check_bag_records(counts)
    images: dict[str, int] = {}
    for name, n in counts.items():
        if (s := _stream_of(name, IMAGE_TOPIC)) is not None:
            images[s] = images.get(s, 0) + n
    return RecordingIndex("bag", images)


def _record(f, size: int) -> tuple[dict[str, bytes], bytes]:
    """One record: (header fields, data), bounds-checked so random bytes give an error, not a 4 GB read."""
    start = f.tell()
    header_len = _read_u32(f)
    if header_len > MAX_HEADER or start + 4 + header_len + 4 > size:
        raise RecordingIndexError(f"its records are damaged at byte {start}")
    raw = f.read(header_len)
    data_len = _read_u32(f)
    if f.tell() + data_len > size:
        raise RecordingIndexError(f"its records are damaged at byte {start}")
    data = f.read(data_len)
    fields: dict[str, bytes] = {}
    pos = 0
    while pos < len(raw):
        if pos + 4 > len(raw):
            raise RecordingIndexError(f"its records are damaged at byte {start}")
        (n,) = struct.unpack_from("<I", raw, pos)
        item = raw[pos + 4 : pos + 4 + n]
        if len(item) != n or b"=" not in item:
            raise RecordingIndexError(f"its records are damaged at byte {start}")
        key, _, value = item.partition(b"=")
        fields[key.decode("ascii", "replace")] = value
        pos += 4 + n
    return fields, data


def _read_u32(f) -> int:
    b = f.read(4)
    if len(b) != 4:
        raise RecordingIndexError("it ends in the middle of a record (truncated)")
    return struct.unpack("<I", b)[0]


def _op(fields: dict[str, bytes]) -> int | None:
    op = fields.get("op")
    return op[0] if op is not None and len(op) == 1 else None


def _u(fields: dict[str, bytes], key: str, fmt: str) -> int:
    raw = fields.get(key)
    if raw is None or len(raw) != struct.calcsize(fmt):
        raise RecordingIndexError(f"its index is damaged (field {key} is unreadable)")
    return struct.unpack(fmt, raw)[0]


def _check_bag_records(counts: dict[str, int]) -> None:
    if not counts.get("/file_version"):
        raise RecordingIndexError("its /file_version record is missing")
    for name in counts:
        m = IMAGE_TOPIC.match(name)
        if not m:
            continue
        prefix = name[: name.index("/image/")]
        stream = m.group(3).lower()
        sensor_info = f"/device_{m.group(1)}/sensor_{m.group(2)}/info"  # a .bag's sensors are found by it
        for record in (f"{prefix}/info", f"{prefix}/info/camera_info", sensor_info):
            if not counts.get(record):
                raise RecordingIndexError(f"the {stream} stream's record {record} is missing")
