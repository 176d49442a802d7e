"""`--save-labels DIR`: the class ids of every frame, one PNG each, for evaluation and tools.

`DIR/NNNNNN.png` (6 digits) is named by the frame index the latency log uses; it is a plain
8-bit single-channel (grayscale) PNG whose pixel values are the 0-based class ids and 255 where
there is no prediction, so `cv2.imread(p, cv2.IMREAD_UNCHANGED)` or PIL return the uint8 HxW
ids as they are (no palette to undo). Class names and colours are those of the run's class set.

With `confidence=True` (`--save-confidence`) each frame also gets `DIR/NNNNNN_conf.png`: the
winning class's probability × 255, rounded, as 8-bit grayscale (0 where there is no prediction).

Which frames: every frame that reaches the sinks, as the video has them. A frame that could
not be segmented but has an image (all-zero depth, rejected by the segmenter) is written all
255 = "no prediction here", so the folder never pairs a frame with another frame's labels; a
frame without a usable image (an unreadable file, a wrong size) gets no file, and the latency
log's `bad` column says why. Each PNG is written under a unique hidden partial name and renamed
when complete (`app.files.replacing`), so a PNG under its real name is always whole; a write
that fails (disk full, permissions) raises `OutputError` and leaves no partial file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from app.files import replacing, why_write_failed, write_all
from app.sinks.base import OutputError, Rendered, Sink, counted

LABEL_NAME = re.compile(r"^\d{6}\.png$")


def confidence_image(confidence: np.ndarray | None, labels: np.ndarray) -> np.ndarray:
    """float32 [0, 1] confidence -> uint8 (× 255, rounded); all 0 when the frame has none."""
    if confidence is None:
        return np.zeros_like(labels)
    return np.rint(np.clip(confidence, 0.0, 1.0) * 255.0).astype(np.uint8)


def encode_labels(labels: np.ndarray) -> bytes:
    """uint8 HxW class ids -> the bytes of an 8-bit grayscale PNG."""
    import cv2

    if labels.dtype != np.uint8 or labels.ndim != 2:
        raise ValueError(f"labels must be uint8 HxW, got {labels.dtype} {labels.shape}")
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(labels))
    if not ok:
        raise ValueError("PNG encoding of the labels failed")
    return buf.tobytes()


def write_label_png(path: Path, labels: np.ndarray) -> None:
    """Write the label PNG complete or not at all (OSError: nothing left behind)."""
    data = encode_labels(labels)
    with replacing(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            write_all(fd, data)
        finally:
            os.close(fd)


class LabelsSink(Sink):
    """One class-id PNG per frame in `folder` (created with the first one)."""

    name = "labels"

    def __init__(self, folder: str | os.PathLike, confidence: bool = False) -> None:
        self.folder = Path(folder)
        self.confidence = confidence
        self.written = 0  # writes (a window's seek may write a frame again, replacing its PNG)
        self.first: int | None = None
        self.last: int | None = None
        self._names: set[str] = set()
        self._before: set[str] = set()  # label PNGs already in the folder when the run began
        self._failed = ""

    def open(self, width: int, height: int, fps: float) -> None:
        if self.folder.is_dir():
            try:
                self._before = {p.name for p in self.folder.iterdir() if LABEL_NAME.match(p.name)}
            except OSError:  # unreadable: the first write says what is wrong
                self._before = set()

    def write(self, rendered: Rendered) -> None:
        """The confidence PNG (when asked) goes first and is removed if the label PNG then fails, so a
        label PNG under its name always has its `_conf.png` beside it."""
        seg = rendered.seg
        path = self.folder / f"{seg.frame.index:06d}.png"
        conf_path = path.with_name(f"{seg.frame.index:06d}_conf.png") if self.confidence else None
        failing = conf_path or path
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if conf_path is not None:
                write_label_png(conf_path, confidence_image(seg.confidence, seg.labels))
                failing = path
            write_label_png(path, seg.labels)
        except OSError as e:
            if conf_path is not None and failing == path:
                conf_path.unlink(missing_ok=True)
            self._failed = why_write_failed(e)
            what = "confidence PNG" if failing == conf_path else "label PNG"
            lost = "it and its label PNG were not written" if failing == conf_path else "it was not written"
            raise OutputError(
                f"{self._failed} writing the {what} {failing}; {lost} "
                f"({counted(len(self._names), 'complete label PNG')} kept in {self.folder})"
            ) from None
        self.written += 1
        self._names.add(path.name)
        self.first = seg.frame.index if self.first is None else self.first
        self.last = seg.frame.index

    def close(self) -> list[str]:
        if not self.written:
            return [f"labels: none written ({self._failed})" if self._failed else "labels: none (no frames)"]
        span = f"{self.first:06d}.png" if self.first == self.last else f"{self.first:06d}.png … {self.last:06d}.png"
        what = "PNG" if not self.confidence else "label PNG"
        line = f"labels: {counted(len(self._names), what)} in {self.folder} ({span}"
        if self.confidence:
            line += ", each with its _conf.png"
        if self._failed:
            line += f"; stopped: {self._failed}"
        older = len(self._before - self._names)
        if older:
            line += f"; {counted(older, 'older label PNG')} from before this run also there"
        return [line + ")"]
