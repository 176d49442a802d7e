"""A ROS bag opened with `rosbags`: which kind it is, its topics, its messages decoded.

Read here: ROS 1 `.bag` files, ROS 2 bag folders (`metadata.yaml` + `.db3` or `.mcap`) and a
bare `.db3`/`.mcap` file, all through rosbags' own readers (its MCAP storage needs no other
package). A librealsense recording is also a `.bag` or `.db3`; it is told apart by its content
(`is_librealsense`: its `/file_version` record and `/device_N/sensor_M/...` topics), never by
the name, and replayed by librealsense instead (`app.sources.recording`).

Messages are decoded with a type store of the bag's ROS generation (Noetic or Humble) plus the
definitions the bag carries (ROS 1 bags, MCAP and newer sqlite bags do) plus
realsense-ros' `Extrinsics` message (ROS 2 sqlite bags of Humble carry no definitions). A bag
that cannot be opened at all is one line (`UserError`); a message that cannot be read later is
the caller's to count (`MessageError`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import UserError

MCAP_MAGIC = b"\x89MCAP0\r\n"
LIBREALSENSE_TOPIC = re.compile(r"^/device_\d+/sensor_\d+/")
MARKER_SCAN_BYTES = 1 << 20  # a damaged file: look for librealsense's topic names in its first and last MiB

# realsense-ros' extrinsics between two streams (column-major rotation, metres), ROS 2 and ROS 1 names
EXTRINSICS_MSG = "float64[9] rotation\nfloat64[3] translation\n"
EXTRINSICS_TYPES = {
    "realsense2_camera_msgs/msg/Extrinsics": EXTRINSICS_MSG,
    "realsense2_camera/msg/Extrinsics": "std_msgs/Header header\n" + EXTRINSICS_MSG,
}


class MessageError(Exception):
    """One message could not be read or decoded (its reason, one line)."""


def bag_storage(path: Path) -> str | None:
    """"ros1", "ros2" (a bag folder), "sqlite" or "mcap" (a bare storage file), or None: not a bag."""
    from app.sources.recording import sniff_recording  # the magic of the two formats librealsense shares

    if path.is_dir():
        return "ros2" if _is_file(path / "metadata.yaml") else None
    shared = sniff_recording(path)
    if shared is not None:
        return {"bag": "ros1", "db3": "sqlite"}[shared]
    try:
        with open(path, "rb") as f:
            return "mcap" if f.read(len(MCAP_MAGIC)) == MCAP_MAGIC else None
    except OSError:
        return None


def _is_file(path: Path) -> bool:
    """False also where the folder cannot be read (its own source then says why)."""
    try:
        return path.is_file()
    except OSError:
        return False


def unclosed_storage(path: Path) -> Path | None:
    """The storage file of a ROS 2 bag folder whose recorder was stopped before it wrote
    metadata.yaml (`ros2 bag record` killed): one `.db3`/`.mcap` that is a ROS bag; else None."""
    if not path.is_dir() or _is_file(path / "metadata.yaml"):
        return None
    try:
        files = [f for f in path.iterdir() if f.suffix.lower() in (".db3", ".mcap") and f.is_file()]
    except OSError:
        return None
    if len(files) != 1:
        return None
    storage = bag_storage(files[0])
    if storage == "mcap" or (storage == "sqlite" and not is_librealsense(files[0])):
        return files[0]
    return None


def is_librealsense(path: Path) -> bool:
    """Whether a `.bag`/`.db3`-format file is a librealsense recording rather than a ROS bag: by its
    topics when rosbags can list them, else (a damaged file) by the names in its first and last MiB:
    librealsense's topics, or ROS message types (`sensor_msgs/`) that librealsense does not write the
    same way. A file with neither stays with librealsense's reader, which says why it cannot be read."""
    try:
        with _reader(path, bag_storage(path) or "") as reader:
            names = [c.topic for c in reader.connections]
        return "/file_version" in names or any(LIBREALSENSE_TOPIC.match(n) for n in names)
    except Exception:  # noqa: BLE001 - damaged: decided by the bytes below
        pass
    try:
        with open(path, "rb") as f:
            head = f.read(MARKER_SCAN_BYTES)
            f.seek(max(0, os.fstat(f.fileno()).st_size - MARKER_SCAN_BYTES))
            tail = f.read()
    except OSError:
        return True  # unreadable: librealsense's reader says why, as it always did
    parts = (head, tail)
    if any(b"/file_version" in part or b"/device_0/sensor_" in part for part in parts):
        return True
    return not any(b"sensor_msgs/" in part for part in parts)


def _reader(path: Path, storage: str) -> Any:
    """An unopened rosbags reader for `path` (a storage file with the extension rosbags expects)."""
    if storage == "ros1":
        from rosbags.rosbag1 import Reader

        return Reader(path)
    from rosbags.rosbag2 import Reader as Reader2

    return Reader2(path)


@dataclass(frozen=True)
class TopicInfo:
    name: str
    msgtype: str  # ROS 2 spelling: "sensor_msgs/msg/Image"
    count: int


class BagFile:
    """An open bag: `topics`, `messages(names)` decoded, `close()`."""

    def __init__(self, path: Path, allow_damaged: bool = False) -> None:
        self.path = path
        self.damage: str | None = None  # what an unclosed file lost (opened with allow_damaged)
        self.storage = bag_storage(path)
        if self.storage is None:
            raise UserError(f"{path} is not a ROS bag (a ROS 1 .bag, a ROS 2 bag folder with metadata.yaml, "
                            "or a .db3/.mcap file)")
        self._tmpdir: str | None = None
        self._file = self._named(path)
        try:
            self._reader = _reader(self._file, self.storage)
            self._reader.open()
        except Exception as e:  # noqa: BLE001 - rosbags' ReaderError and what its storage raises
            if not (allow_damaged and self._open_unclosed(e)):
                self._cleanup()
                why = f"{_first_line(e)}{_repair_hint(self.storage, e)}"
                raise UserError(f"cannot read ROS bag {path}: {why}") from None
        self.ros1 = self.storage == "ros1"
        self.typestore = self._typestore()
        self.topics = {c.topic: TopicInfo(c.topic, c.msgtype, 0) for c in self._reader.connections}
        for c in self._reader.connections:  # a topic may have several connections
            t = self.topics[c.topic]
            self.topics[c.topic] = TopicInfo(t.name, t.msgtype, t.count + int(c.msgcount))

    def _open_unclosed(self, error: Exception) -> bool:
        """--allow-damaged on an MCAP file without its end: read the whole records it has."""
        if self.storage != "mcap" or "end magic" not in str(error):
            return False
        from app.sources.rosbag_mcap import open_unclosed

        try:
            self._reader, lost = open_unclosed(self._file)
        except Exception:  # noqa: BLE001 - not even that: the original reason is said
            return False
        self.damage = f"it was not closed (no summary; the last {lost} bytes hold no whole record)"
        return True

    def _named(self, path: Path) -> Path:
        """rosbags picks a ROS 2 storage by extension: a misnamed file is read through a named link."""
        want = {"sqlite": ".db3", "mcap": ".mcap"}.get(self.storage or "")
        if want is None or path.suffix.lower() == want:
            return path
        self._tmpdir = tempfile.mkdtemp(prefix="sgnet-bag-")
        link = Path(self._tmpdir) / f"bag{want}"
        try:
            link.symlink_to(path.resolve())
        except OSError:
            shutil.copyfile(path, link)
        return link

    def _typestore(self) -> Any:
        from rosbags.interfaces import MessageDefinitionFormat
        from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore

        store = get_typestore(Stores.ROS1_NOETIC if self.ros1 else Stores.ROS2_HUMBLE)
        known = set(store.fielddefs)
        types: dict[str, Any] = {}
        for c in self._reader.connections:  # the bag's own definitions, for types the store lacks
            if c.msgtype in known or c.msgdef.format == MessageDefinitionFormat.NONE:
                continue
            try:
                if c.msgdef.format == MessageDefinitionFormat.MSG:
                    types.update(get_types_from_msg(c.msgdef.data, c.msgtype))
                else:
                    types.update(get_types_from_idl(c.msgdef.data))
            except Exception:  # noqa: BLE001 - a definition we cannot parse: its messages are not read
                continue
        for name, text in EXTRINSICS_TYPES.items():
            if name not in types and name not in known:
                types.update(get_types_from_msg(text, name))
        pending = dict(types)
        while pending:  # one at a time (a clash leaves the store's own type), again while a dependency lands
            failed = {}
            for name, fields in pending.items():
                try:
                    store.register({name: fields})
                except Exception:  # noqa: BLE001
                    failed[name] = fields
            if len(failed) == len(pending):
                break
            pending = failed
        return store

    @property
    def duration_s(self) -> float:
        """From the first to the last message of any topic (0 for an empty bag)."""
        try:
            return max(0.0, (int(self._reader.end_time) - int(self._reader.start_time)) / 1e9)
        except Exception:  # noqa: BLE001 - rosbags has no times for an empty bag
            return 0.0

    def messages(self, names: Iterable[str]) -> Iterator[tuple[str, int, Any]]:
        """(topic, log time ns, decoded message or MessageError) in log-time order; a failure
        to read further raises MessageError (the rest of the bag is unreadable)."""
        wanted = set(names)
        conns = [c for c in self._reader.connections if c.topic in wanted]
        if not conns:
            return
        it = self._reader.messages(connections=conns)
        while True:
            try:
                conn, t_ns, raw = next(it)
            except StopIteration:
                return
            except Exception as e:  # noqa: BLE001 - a damaged chunk/page: nothing after it can be read
                raise MessageError(_first_line(e)) from None
            yield conn.topic, int(t_ns), self._decode(raw, conn.msgtype)

    def _decode(self, raw: bytes, msgtype: str) -> Any:
        try:
            if self.ros1:
                return self.typestore.deserialize_ros1(raw, msgtype)
            return self.typestore.deserialize_cdr(raw, msgtype)
        except Exception as e:  # noqa: BLE001 - a damaged message
            return MessageError(f"unreadable {msgtype.rpartition('/')[2]} message ({_first_line(e)})")

    def first(self, name: str) -> Any:
        """The first message of a topic (decoded or a MessageError), None when it has none."""
        for _, _, msg in self.messages([name]):
            return msg
        return None

    def close(self) -> None:
        reader, self._reader = getattr(self, "_reader", None), None
        if reader is not None:
            with contextlib.suppress(Exception):  # closing a damaged file: nothing to save
                reader.close()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __del__(self) -> None:  # a source that was never closed leaves no link behind
        if getattr(self, "_tmpdir", None) is not None:
            self._cleanup()


def _first_line(e: Exception) -> str:
    """rosbags' words, without the tuple it sometimes wraps them in ("…: ('Header could not be read.',)")."""
    text = str(e).strip()
    if not text:
        return type(e).__name__
    text = re.sub(r"\('([^']*)',\)", r"\1", text.splitlines()[0])
    return text.rstrip(".")


def _repair_hint(storage: str | None, e: Exception) -> str:
    """What repairs the usual damage: a recording that was not closed."""
    text = str(e)
    if storage == "ros1" and ("index" in text.lower() or "Header could not be read" in text):
        return " (the bag is truncated or was not closed: `rosbag reindex` repairs an unclosed bag)"
    if storage in ("mcap", "ros2") and "end magic" in text:
        return (" (the recording was not closed: `mcap recover` repairs it"
                + (", or --allow-damaged plays what it holds)" if storage == "mcap" else ")"))
    if "malformed" in text or "not a database" in text:
        return " (the file is truncated or corrupt)"
    return " (the bag is truncated or damaged)"
