"""Recordings whose every frame says which frame it is, and the ways the damaged-recording tests
break them (sqlite DELETE/UPDATE, random bytes), all on copies the tests make themselves.

Frame i: depth is 1000 + i raw units everywhere but a 2-row band without data; color's red is
i everywhere, its green and blue are noise (so an image is ~10 KB in the file, as real ones are
large, and random bytes "in the middle" land in image data); depth and color cameras differ in
size and are 4 cm apart but not rotated, so aligned depth keeps its values: every aligned frame
names its depth and its color.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import numpy as np
from rs_bag import write_bag
from test_app_realsense import COLOR_SIZE, DEPTH_SIZE, write_recording


def depth_of(i: int, size=DEPTH_SIZE) -> np.ndarray:
    d = np.full((size[1], size[0]), 1000 + i, np.uint16)
    d[:2] = 0
    return d


def color_of(i: int, size=COLOR_SIZE) -> np.ndarray:
    c = np.random.default_rng(i).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    c[..., 0] = i % 256
    return c


def frame_ids(frame) -> tuple[int, int]:
    """(depth frame, color frame) an aligned RGBDFrame was made of."""
    depth = np.unique(frame.depth[frame.depth > 0])
    assert len(depth) == 1, depth
    return int(depth[0]) - 1000, int(frame.color[frame.color.shape[0] // 2, frame.color.shape[1] // 2, 0])


def write_numbered_db3(path: Path, n: int = 30, spacing_s: float = 0.03) -> Path:
    """A .db3 written by librealsense's recorder, pairs `spacing_s` apart in the file's time line."""
    write_recording(path, n, depth=depth_of, color=color_of, rotated=False, spacing_s=spacing_s)
    return path


def write_numbered_bag(path: Path, n: int = 30) -> Path:
    write_bag(path, n, depth_of, color_of, depth_units=0.0005)
    return path


def damaged_copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def sql(path: Path, *statements: str) -> Path:
    with sqlite3.connect(path) as db:
        for s in statements:
            db.execute(s)
    return path


def image_messages(stream: str, offset: int = 0, limit: int = -1) -> str:
    """SQL selecting the ids of a stream's image messages ("Depth"/"Color"), in time order."""
    return (f"SELECT m.id FROM messages m JOIN topics t ON m.topic_id = t.id WHERE t.name LIKE "
            f"'%/{stream}_0/image/data%' ORDER BY m.timestamp LIMIT {limit} OFFSET {offset}")


def randomize(path: Path, offset: int, n: int, seed: int = 15) -> Path:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    data[offset : offset + n] = bytes(rng.getrandbits(8) for _ in range(n))
    path.write_bytes(bytes(data))
    return path


def blob_offset(path: Path, stream: str, k: int, middle: bool = False) -> int:
    """Where the k-th image message of `stream` starts (or its middle is) in a .db3 file."""
    with sqlite3.connect(path) as db:
        (blob,) = db.execute(
            f"SELECT data FROM messages WHERE id = ({image_messages(stream, k, 1)})"
        ).fetchone()
    start = len(blob) // 2 if middle else 0
    at = path.read_bytes().find(bytes(blob)[start : start + 64])
    assert at > 0
    return at


def bag_record_offsets(path: Path) -> list[int]:
    """Where the message-data records of a .bag start (their header holds op=0x02)."""
    data = path.read_bytes()
    out, at = [], data.find(b"op=\x02")
    while at >= 0:
        out.append(at)
        at = data.find(b"op=\x02", at + 1)
    return out


def patch_bag_image(path: Path, stream: str, k: int, field: str, value: int) -> Path:
    """Overwrite a uint32 of the k-th image of `stream` ("depth"/"color") in a .bag written by
    rs_bag: its `width`, `height`, `step` or data length (`len`), as random bytes might."""
    data = bytearray(path.read_bytes())
    encoding = b"\x06\x00\x00\x00mono16" if stream == "depth" else b"\x04\x00\x00\x00rgb8"
    at = -1
    for _ in range(k + 2):  # the stream's info record names the encoding first
        at = data.find(encoding, at + 1)
        assert at > 0
    offset = {"height": at - 8, "width": at - 4, "step": at + len(encoding) + 1, "len": at + len(encoding) + 5}[field]
    data[offset : offset + 4] = value.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def bag_without(src: Path, dst: Path, topic: str, first: int = 0, stop: int = 1 << 30) -> Path:
    """A copy of a .bag without messages `first` to `stop` (exclusive) of the topics that end in
    `topic`, rewritten by rosbags with a consistent index (as a tool that drops messages does)."""
    from rosbags.rosbag1 import Reader, Writer

    dst.unlink(missing_ok=True)
    with Reader(src) as r, Writer(dst) as w:
        conns = {c.id: w.add_connection(c.topic, c.msgtype, msgdef=c.msgdef.data, md5sum=c.digest)
                 for c in r.connections}
        seen: dict[str, int] = {}
        for c, t, raw in r.messages():
            k = seen[c.topic] = seen.get(c.topic, -1) + 1
            if not (c.topic.endswith(topic) and first <= k < stop):
                w.write(conns[c.id], t, raw)
    return dst
