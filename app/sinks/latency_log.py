"""Per-frame latency log, one row per frame taken from the source, written as it goes.

`.csv`: a header line, then one line per frame (empty cell = not measured).
`.jsonl`: one JSON object per line (null = not measured).
Columns: index, device_ts_ms, capture_wait_ms, upload_ms, spatial_ms, model_ms, propagate_ms
(video mode), postprocess_ms, keyframe (1 = the network ran, 0 = carried; empty when not
segmented), render_ms, sink_ms, e2e_ms, age_ms, queue_drops, bad, note (see app.stats.FrameRecord).
The file is created with the first row, so a run that fails before any frame leaves none.

Each row goes to the file whole, with one unbuffered write (so it can be followed with
`tail -f`). If a write fails (disk full, I/O error) the file is cut back to its last complete
line (removed if that leaves no row) and the run stops with `OutputError`: whoever reads
the log never finds half a line.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import stat
from pathlib import Path

from app.files import why_write_failed, write_all
from app.sinks.base import OutputError, counted
from app.stats import FrameRecord
from sgnet.frames import SEGMENT_STAGES

LOG_SUFFIXES = (".csv", ".jsonl")


class LatencyLog:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.format = self.path.suffix.lower().lstrip(".")
        if self.format not in ("csv", "jsonl"):
            raise ValueError(f"latency log must end in .csv or .jsonl, got {self.path}")
        self.rows = 0
        self._fd: int | None = None
        self._complete = 0  # bytes of whole lines in the file
        self._columns: list[str] | None = None
        self._failed_line: str | None = None

    def _text(self, row: dict[str, object]) -> str:
        if self.format == "jsonl":
            return json.dumps(row) + "\n"
        buf = io.StringIO()
        columns = self._columns or list(row)
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
        if self._columns is None:
            self._columns = list(row)
            writer.writeheader()
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return buf.getvalue()

    def write(self, rec: FrameRecord) -> None:
        if self._failed_line is not None:
            return
        data = self._text(rec.as_row(SEGMENT_STAGES)).encode("utf-8")
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            write_all(self._fd, data)
        except OSError as e:
            raise self._fail(e) from None
        self._complete += len(data)
        self.rows += 1

    def _fail(self, e: OSError) -> OutputError:
        """Cut the file back to its whole lines (remove it if no row is left); say what was kept."""
        why = why_write_failed(e)
        removed = False
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.fstat(fd).st_mode):  # not a device such as /dev/full
                    os.ftruncate(fd, self._complete)
                    if self.rows == 0:
                        self.path.unlink()
                        removed = True
            os.close(fd)
        head = f"{why} writing the latency log {self.path} after {counted(self.rows, 'row')}"
        if self.rows == 0:
            self._failed_line = f"latency log: {self.path} not written ({why})"
            return OutputError(f"{head}; {self.path} removed" if removed else head)
        self._failed_line = f"latency log: {self.path} ({counted(self.rows, 'row')}; incomplete: {why})"
        return OutputError(f"{head}; kept the first {counted(self.rows, 'row')} in {self.path}")

    def close(self) -> list[str]:
        if self._failed_line is not None:
            return [self._failed_line]
        if self._fd is None:
            return [f"latency log: no frames, {self.path} not written"]
        fd, self._fd = self._fd, None
        os.close(fd)
        return [f"latency log: {self.path} ({self.rows} rows)"]
