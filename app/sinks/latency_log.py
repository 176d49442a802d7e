"""Per-frame latency log, one row per frame taken from the source, flushed as it goes.

`.csv`: a header line, then one line per frame (empty cell = not measured).
`.jsonl`: one JSON object per line (null = not measured).
Columns: index, device_ts_ms, capture_wait_ms, upload_ms, spatial_ms, model_ms,
postprocess_ms, render_ms, sink_ms, e2e_ms, age_ms, queue_drops, bad (see app.stats.FrameRecord).
The file is created with the first row, so a run that fails before any frame leaves none.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import IO

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
        self._file: IO[str] | None = None
        self._csv: csv.DictWriter | None = None

    def write(self, rec: FrameRecord) -> None:
        row = rec.as_row(SEGMENT_STAGES)
        if self._file is None:
            self._file = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - open for the run
            if self.format == "csv":
                self._csv = csv.DictWriter(self._file, fieldnames=list(row), extrasaction="ignore")
                self._csv.writeheader()
        if self._csv is not None:
            self._csv.writerow({k: ("" if v is None else v) for k, v in row.items()})
        else:
            self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        self.rows += 1

    def close(self) -> list[str]:
        if self._file is None:
            return [f"latency log: no frames, {self.path} not written"]
        self._file.close()
        self._file = None
        return [f"latency log: {self.path} ({self.rows} rows)"]
