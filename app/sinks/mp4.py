"""Fragmented MP4 (MPEG-4 Part 2, "mp4v") written through PyAV, every byte checked.

Why fragmented: after a small header, each frame is a self-contained fragment (moof + mdat),
so a file cut short (disk full, power loss, kill -9) still plays up to its last complete
fragment; a classic mp4 is unreadable until its index (moov) is written at the very end.
Why PyAV, not cv2.VideoWriter: OpenCV's writer returns nothing and prints "Failed to write
frame" on a full disk. Here FFmpeg writes through `_CheckedFile`, whose OSError reaches the
caller, and the muxer flushes after every packet, so the file size after each frame is a
fragment boundary to cut back to. OpenCV (`cv2.VideoCapture`) reads the result as before.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from app.files import write_all

CODEC = "mpeg4"
FOURCC = "mp4v"
GOP = 12  # what OpenCV's writer uses for mp4v
BITS_PER_PIXEL = 1.5  # ... and its bit rate: 1.5 bits per pixel and frame
MP4_OPTIONS = {
    "movflags": "frag_every_frame+empty_moov+default_base_moof",
    "flush_packets": "1",  # hand every fragment to the file at once: its end is a safe cut point
}


def preload() -> None:
    """Import PyAV now (about 0.1 s), so the first frame's timings do not include it."""
    import av  # noqa: F401


class _CheckedFile:
    """The file object FFmpeg writes into: plain os.write, so an error raises at once; `size`
    counts the bytes that reached the file, `error` keeps the first failure (FFmpeg may swallow
    one raised while it closes)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self.size = 0
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        if self.error is not None:
            raise self.error
        try:
            n = write_all(self.fd, data)
        except OSError as e:
            self.error = e
            self.size = os.lseek(self.fd, 0, os.SEEK_CUR)
            raise
        self.size += n
        return n


class Mp4Writer:
    """Encode RGB frames into `path` (created; it must not exist). `add` and `finish` raise
    OSError when a write fails; then `cut()` leaves only complete fragments in the file."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        import av

        self.path = path
        self._file = _CheckedFile(path)
        self._complete = 0  # bytes of the file that hold whole fragments
        try:
            self._container = av.open(self._file, "w", format="mp4", container_options=MP4_OPTIONS)
            stream = self._container.add_stream(CODEC, rate=Fraction(fps).limit_denominator(1001))
            codec = stream.codec_context
            codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
            codec.codec_tag = FOURCC
            codec.bit_rate = int(BITS_PER_PIXEL * fps * width * height)
            codec.gop_size = GOP
        except BaseException:
            self._close_file()
            raise
        self._stream = stream

    def add(self, rgb: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._checked()
        self._complete = self._file.size

    def finish(self) -> None:
        """Flush the encoder, write the last fragment and the index, sync, close the file.
        OSError: the file stays open for `cut`."""
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._checked()
        os.fsync(self._file.fd)
        self._close_file()

    def cut(self) -> None:
        """After a failed write: close everything and truncate the file to its complete fragments."""
        with contextlib.suppress(Exception):  # FFmpeg's own closing writes fail the same way
            self._container.close()
        if self._file.fd < 0:
            return
        try:
            os.ftruncate(self._file.fd, self._complete)
        finally:
            self._close_file()

    def _close_file(self) -> None:
        fd, self._file.fd = self._file.fd, -1  # never closed twice: the number may be reused
        if fd >= 0:
            os.close(fd)

    def _checked(self) -> None:
        if self._file.error is not None:
            raise self._file.error


def playable_frames(path: Path) -> int:
    """How many frames a reader (OpenCV, as users and tests read it) finds in `path`; 0 if none.
    Cheap: the count comes from the fragment headers, and the first frame is decoded."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened() or not cap.read()[0]:
            return 0
        return max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 1)
    finally:
        cap.release()
