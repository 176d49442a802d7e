"""What the window saves on request, off the GUI thread: screenshot bundles of the shown
frame (the same bundle as `--screenshot-dir`), labeled PLY clouds, and file names.

Every file is written under a partial name and renamed when complete (`app.files`), so a full
disk leaves no half file; what failed is shown at once and kept in `failures` for the end
of the run (which then exits with the output-error status).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from app.files import replacing, why_write_failed, write_bytes_atomic
from app.render import overlay
from app.sinks.ply import write_ply
from app.sinks.screenshots import write_bundle
from assets.classes import ClassSet
from sgnet.frames import Segmentation


def stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """folder/stem+suffix, or stem-2, stem-3 ... if that exists."""
    p = folder / f"{stem}{suffix}"
    n = 2
    while p.exists():
        p = folder / f"{stem}-{n}{suffix}"
        n += 1
    return p


class CaptureWriter:
    """Writes files on one background thread; `done(message)` / `failed(message)` are called
    from that thread (connect them to queued Qt signals)."""

    def __init__(self, folder: Path, done: Callable[[str], None], failed: Callable[[str], None]) -> None:
        self.folder = Path(folder)
        self.done = done
        self.failed = failed
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sgnet-captures")
        self.written: list[Path] = []
        self.failures: list[str] = []  # one line per save that failed

    def _submit(self, job: Callable[[], Path], what: str) -> Future:
        def run() -> Path:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                path = job()
            except OSError as e:
                self.failures.append(f"{why_write_failed(e)}: {what} not saved in {self.folder}")
                self.failed(self.failures[-1])
                raise
            except Exception as e:
                self.failed(f"{what} failed: {e}")
                raise
            self.written.append(path)
            self.done(f"{what} saved: {path}")
            return path

        return self._pool.submit(run)

    def bundle(self, seg: Segmentation, alpha: float) -> Future:
        """The screenshot bundle of `seg` (color, overlay, labels, depth, cloud.ply, meta.json)."""
        def job() -> Path:  # rendered on the writer thread, not the GUI's
            return write_bundle(self.folder, seg, overlay(seg.frame.color, seg.labels, alpha, classes=seg.classes))

        return self._submit(job, "screenshot")

    def ply(self, points, frame_index: int, classes: ClassSet) -> Future:  # noqa: ANN001 - a PLY_DTYPE array
        """The cloud as shown in the 3D view (stride, depth cut, hidden classes applied); `classes`
        names its label ids in the header."""

        def job() -> Path:
            path = unique_path(self.folder, f"cloud_frame_{frame_index:06d}", ".ply")
            with replacing(path) as tmp:
                write_ply(tmp, points, classes)
            return path

        return self._submit(job, "point cloud")

    def video_path(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return unique_path(self.folder, f"recording-{stamp()}", ".mp4")

    def window_path(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return unique_path(self.folder, f"window-{stamp()}", ".png")

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def save_png(widget, path: Path) -> None:  # noqa: ANN001 - a QWidget
    """A PNG of the widget, encoded in memory and written complete or not at all (OSError)."""
    from PyQt5.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    ok = widget.grab().save(buf, "PNG")
    buf.close()
    if not ok:
        raise OSError("Qt could not encode the window as PNG")
    write_bytes_atomic(path, bytes(data))
