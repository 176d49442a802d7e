"""Pseudo-labels: a teacher model labels unlabelled frames, and what it is sure of becomes a
NYUDv2-format training folder for a student (`sgnet distill`).

OUT/pseudo/NN_<source>/RGB, Depth (uint16 mm), Label (1-based ids of the teacher's class set,
0 = the teacher was not sure: ignored in training), intrinsics.json, classes.json (the teacher's
set), train.txt / test.txt (every `test_every`-th kept frame is held out: the student's score on
it is its agreement with the teacher). OUT/pseudo/meta.json says what made them.

The folder is written as OUT/.pseudo.partial and renamed when every source is done, so OUT/pseudo
is always complete; under torchrun each rank labels its share of the frames (frame k goes to rank
k mod world) and rank 0 writes the lists and renames.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from app.errors import UserError
from app.sources import BadFrame, open_source
from app.sources.base import SourceOptions
from sgnet.depth_holes import fill_holes
from sgnet.frames import NO_PREDICTION, RGBDFrame, Segmentation

PSEUDO = "pseudo"
PARTIAL = ".pseudo.partial"
META = "meta.json"
VERSION = 2  # 2: the teacher's weights are recorded by their SHA-256


@dataclass(frozen=True)
class PseudoConfig:
    """What the teacher labels and how sure it must be."""

    sources: tuple[str, ...]  # what `sgnet-live --camera` takes: recordings, ROS bags, folders, demo
    min_confidence: float = 0.7  # pixels where the teacher's winning probability is lower are ignored
    every: int = 1  # label every N-th frame of each source (consecutive camera frames are near copies)
    max_frames: int | None = None  # per source, after `every`
    test_every: int = 10  # every N-th kept frame of a source goes to test.txt (0: none)
    fill_holes: bool = False  # frames' depth in-painted first (sgnet.depth_holes): what the teacher labels and the
    # student trains and is scored on, as sgnet-live feeds real frames to the model

    def check(self) -> None:
        if not self.sources:
            raise UserError("give at least one --data source (a recording, ROS bag, image folder or demo)")
        if not 0.0 <= self.min_confidence < 1.0:
            raise UserError(f"--min-confidence must be in [0, 1), got {self.min_confidence}")
        if self.every < 1:
            raise UserError(f"--every must be at least 1, got {self.every}")
        if self.max_frames is not None and self.max_frames < 1:
            raise UserError(f"--max-frames must be at least 1, got {self.max_frames}")
        if self.test_every < 0 or self.test_every == 1:
            raise UserError(f"--test-every must be 0 (no held-out frames) or at least 2, got {self.test_every}")


@dataclass
class SourceReport:
    """One source's share of the pseudo-labels (summed over ranks)."""

    spec: str
    folder: str
    frames: int = 0  # frames labelled
    pixels: int = 0
    kept_pixels: int = 0  # pixels the teacher was sure of
    bad: dict[str, int] = field(default_factory=dict)  # reason -> frames the source could not give


@dataclass
class PseudoReport:
    teacher: str
    teacher_sha: str  # of the teacher's weights file: a retrained teacher at the same path is another teacher
    classes: str
    config: dict
    sources: list[SourceReport]
    seconds: float = 0.0
    version: int = VERSION

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.sources)

    @property
    def kept_share(self) -> float:
        pixels = sum(s.pixels for s in self.sources)
        return sum(s.kept_pixels for s in self.sources) / pixels if pixels else 0.0

    def line(self) -> str:
        bad = sum(sum(s.bad.values()) for s in self.sources)
        return (f"pseudo-labels: {self.frames} frames from {len(self.sources)} source(s), "
                f"{100 * self.kept_share:.0f}% of pixels sure enough (confidence >= {self.config['min_confidence']})"
                + (f", {bad} bad frames skipped" if bad else ""))


def pseudo_label(seg: Segmentation, min_confidence: float) -> np.ndarray:
    """uint8 label image as NYUDv2 stores it: class id + 1 where the teacher is sure, 0 elsewhere."""
    if seg.confidence is None:
        raise UserError("the teacher gives no confidence: pseudo-labels need sgnet.Segmenter(confidence=True)")
    sure = (seg.confidence >= min_confidence) & (seg.labels != NO_PREDICTION)
    return np.where(sure, seg.labels.astype(np.uint16) + 1, 0).astype(np.uint8)


def source_folder_name(k: int, spec: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(spec.rstrip("/")).stem or spec)[:40].strip("_") or "source"
    return f"{k:02d}_{stem}"


def _png(path: Path, img: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    if not ok:
        raise OSError(f"PNG encoding failed for {path}")
    path.write_bytes(buf.tobytes())


def write_sample(folder: Path, name: str, frame: RGBDFrame, label: np.ndarray) -> None:
    """RGB, Depth (millimetres, as the NYUDv2 layout reads) and Label PNGs of one frame."""
    depth_mm = np.clip(np.rint(frame.depth.astype(np.float64) * frame.depth_scale * 1000.0), 0, 65535)
    _png(folder / "RGB" / f"{name}.png", frame.color[:, :, ::-1])
    _png(folder / "Depth" / f"{name}.png", depth_mm.astype(np.uint16))
    _png(folder / "Label" / f"{name}.png", label)


def _start_folder(folder: Path, frame: RGBDFrame, classes_json: str) -> None:
    for sub in ("RGB", "Depth", "Label"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    k = frame.intrinsics
    (folder / "intrinsics.json").write_text(json.dumps(
        {"width": k.width, "height": k.height, "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy}, indent=1) + "\n")
    (folder / "classes.json").write_text(classes_json)


def label_source(
    teacher, k: int, spec: str, cfg: PseudoConfig, partial: Path, rank: int = 0, world: int = 1,
    on_frame: Callable[[], None] | None = None,
) -> SourceReport:
    """Run the teacher over one source's frames (this rank's share) and write them into `partial`."""
    name = source_folder_name(k, spec)
    report = SourceReport(spec, name)
    folder = partial / name
    bad: Counter = Counter()
    kept = 0  # frames kept so far by `every`, over all ranks: the shard and the split follow it
    size = None
    classes_json = teacher.classes.to_json()
    with open_source(spec, SourceOptions()) as source:
        for seen, item in enumerate(source):
            if isinstance(item, BadFrame):
                bad[item.kind or item.reason.split(":")[0]] += 1
                continue
            if seen % cfg.every:
                continue
            if size is None:
                size = item.depth.shape
            elif item.depth.shape != size:
                bad["frame size changed"] += 1
                continue
            mine = kept % world == rank
            kept += 1
            if mine:
                if cfg.fill_holes:
                    item = replace(item, depth=fill_holes(item.depth))
                if report.frames == 0:  # every rank writing: the same files, the same bytes
                    _start_folder(folder, item, classes_json)
                seg = teacher.segment(item)
                label = pseudo_label(seg, cfg.min_confidence)
                write_sample(folder, f"{item.index:06d}", item, label)
                report.frames += 1
                report.pixels += label.size
                report.kept_pixels += int(np.count_nonzero(label))
                if on_frame is not None:
                    on_frame()
            if cfg.max_frames is not None and kept >= cfg.max_frames:
                break
    report.bad = dict(bad) if rank == 0 else {}  # every rank sees the same bad frames: counted once
    return report


def write_lists(folder: Path, test_every: int) -> tuple[int, int]:
    """train.txt / test.txt of one source folder from the labels written (any rank's); (train, test)."""
    names = sorted(p.stem for p in (folder / "Label").glob("*.png"))
    test = names[test_every - 1 :: test_every] if test_every else []
    held = set(test)
    train = [n for n in names if n not in held]
    (folder / "train.txt").write_text("".join(f"{n}\n" for n in train))
    if test:  # no test.txt at all when nothing is held out (an empty list is an error to the readers)
        (folder / "test.txt").write_text("".join(f"{n}\n" for n in test))
    return len(train), len(test)


def merge_reports(parts: list[list[dict]]) -> list[SourceReport]:
    """Per-source reports of every rank, summed."""
    merged = [SourceReport(**r) for r in parts[0]]
    for other in parts[1:]:
        for m, r in zip(merged, other, strict=True):
            m.frames += r["frames"]
            m.pixels += r["pixels"]
            m.kept_pixels += r["kept_pixels"]
            for reason, n in r["bad"].items():
                m.bad[reason] = m.bad.get(reason, 0) + n
    return merged


def finish(out: Path, report: PseudoReport) -> Path:
    """Lists and meta.json, then OUT/.pseudo.partial -> OUT/pseudo (rank 0 only)."""
    partial = out / PARTIAL
    for s in report.sources:
        if s.frames == 0:
            raise UserError(f"{s.spec} gave no frames to label" + (f" ({', '.join(s.bad)})" if s.bad else ""))
        write_lists(partial / s.folder, report.config["test_every"])
    meta = asdict(report) | {"frames": report.frames, "kept_share": report.kept_share}
    (partial / META).write_text(json.dumps(meta, indent=1) + "\n")
    target = out / PSEUDO
    if target.exists():
        shutil.rmtree(target)
    partial.rename(target)
    return target


def existing(out: Path, teacher: str, teacher_sha: str, cfg: PseudoConfig) -> PseudoReport | None:
    """The pseudo-labels already in OUT made by this teacher (name and weights) with these settings
    (reused, e.g. on --resume), None when there are none; others are an error rather than a silent mix."""
    meta_path = out / PSEUDO / META
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        version = meta["version"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise unreadable(meta_path, e) from None
    if version != VERSION:
        raise UserError(f"{out / PSEUDO} was made by an earlier sgnet-live that did not record the teacher's "
                        "weights: use another --out, or remove it to label again")
    try:
        report = PseudoReport(meta["teacher"], meta["teacher_sha"], meta["classes"], meta["config"],
                              [SourceReport(**s) for s in meta["sources"]], meta["seconds"], meta["version"])
    except (KeyError, TypeError) as e:
        raise unreadable(meta_path, e) from None
    if not isinstance(report.config, dict):
        raise unreadable(meta_path, TypeError(f"config is {type(report.config).__name__}, not an object"))
    # a setting an older run did not record had its default then
    stored = {**config_dict(PseudoConfig(cfg.sources)), **report.config}
    if report.teacher != teacher or stored != config_dict(cfg):
        raise UserError(f"{out / PSEUDO} was made by another teacher or other settings ({report.teacher}, "
                        f"{report.config}): use another --out, or remove it to label again")
    if report.teacher_sha != teacher_sha:
        raise UserError(f"{out / PSEUDO} was made by other weights of {teacher} (sha256 {report.teacher_sha}, now "
                        f"{teacher_sha}): use another --out, or remove it to label again")
    return report


def unreadable(meta_path: Path, e: Exception) -> UserError:
    return UserError(f"{meta_path} cannot be read ({e}): remove {meta_path.parent} to label again")


def config_dict(cfg: PseudoConfig) -> dict:
    """The settings as meta.json holds them (JSON types: lists, not tuples)."""
    return json.loads(json.dumps(asdict(cfg)))


def new_report(teacher: str, teacher_sha: str, classes: str, cfg: PseudoConfig, sources: list[SourceReport],
               t0: float) -> PseudoReport:
    return PseudoReport(teacher, teacher_sha, classes, config_dict(cfg), sources, round(time.perf_counter() - t0, 1))
