"""An MCAP file its recorder never closed (`ros2 bag record -s mcap` killed, the power cut):
read record by record up to where it breaks off, for `--allow-damaged`.

Such a file has its header and complete chunks but no summary and no footer, which rosbags'
reader starts from ("File end magic is invalid"). This reader is rosbags' own MCAP reader,
opened differently: the top-level records are walked from the start to the last one that is
whole, and rosbags' scan of the data section (`meta_scan`) finds the schemas, channels and
message counts in them; messages are then read by rosbags' unindexed scan. `lost_bytes` says
how much of the file could not be used.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from rosbags.rosbag2.errors import ReaderError
from rosbags.rosbag2.storage_mcap import McapReader

MCAP_MAGIC = b"\x89MCAP0\r\n"
OP_HEADER = 0x01
RECORD_HEAD = 9  # opcode (1 byte) + content length (uint64)


def whole_records_end(bio: Any, start: int, size: int) -> int:
    """The offset just after the last complete top-level record from `start` on."""
    pos = start
    while pos + RECORD_HEAD <= size:
        bio.seek(pos)
        head = bio.read(RECORD_HEAD)
        (length,) = struct.unpack_from("<Q", head, 1)
        if pos + RECORD_HEAD + length > size:
            break
        pos += RECORD_HEAD + length
    return pos


class UnclosedMcapReader(McapReader):
    """rosbags' `McapReader` for a file without summary and footer."""

    lost_bytes = 0

    def _open(self) -> None:
        bio = self.bio
        assert bio is not None
        if bio.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
            raise ReaderError("File magic is invalid.")
        head = bio.read(RECORD_HEAD)
        if len(head) != RECORD_HEAD or head[0] != OP_HEADER:
            raise ReaderError("Its header record is damaged.")
        (length,) = struct.unpack_from("<Q", head, 1)
        size = bio.seek(0, 2)
        self.data_start = len(MCAP_MAGIC) + RECORD_HEAD + length
        self.data_end = whole_records_end(bio, self.data_start, size)
        self.lost_bytes = size - self.data_end
        self.meta_scan()
        stats = self.statistics
        assert stats is not None
        self.connections = [c._replace(msgcount=stats.channel_message_counts.get(c.id, 0)) for c in self.connections]
        n = stats.message_count
        self.metadata = self.metadata._replace(
            duration=stats.end_time - stats.start_time + 1 if n else 0,
            start_time=stats.start_time if n else 2**63 - 1,
            end_time=stats.end_time + 1 if n else 0,
            message_count=n,
        )


def open_unclosed(path: Path) -> tuple[Any, int]:
    """A rosbags `Reader` (opened) on an unclosed `.mcap`, and the bytes at its end that were lost."""
    from rosbags.rosbag2 import Reader

    reader = Reader(path)
    storage = UnclosedMcapReader(path)
    reader.storage = storage
    reader.open()
    return reader, storage.lost_bytes
