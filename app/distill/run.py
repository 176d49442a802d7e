"""`sgnet distill`: a big teacher labels the user's own unlabelled frames, a fast student learns them.

Two steps, one command: pseudo-labels (`app.distill.pseudo`, reused when OUT already holds them
for the same teacher and settings, as on --resume), then `sgnet.train` on them with everything
`sgnet train` has (checkpoints, resume, EMA, torchrun). The student's validation score is its
agreement with the teacher on held-out frames of the same sources, or the mIoU on labelled
`--val-data` folders when given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.distill.pseudo import (
    PARTIAL,
    PSEUDO,
    PseudoConfig,
    PseudoReport,
    existing,
    finish,
    label_source,
    merge_reports,
    new_report,
)
from app.errors import UserError
from app.files import why_write_failed
from app.sinks.base import OutputError


@dataclass(frozen=True)
class Teacher:
    """What --teacher names: a model, a weights file, or MODEL:WEIGHTS."""

    model: str | None
    weights: str | None
    classes: str | None = None  # another class set: the teacher's probabilities merged into it

    def describe(self) -> str:
        name = ":".join(p for p in (self.model, self.weights) if p)
        return f"{name} as {self.classes}" if self.classes else name

    def weights_sha(self) -> str:
        """SHA-256 (16 hex digits) of the weights file the teacher runs with (given, else shipped)."""
        from sgnet.engines.cache import file_sha
        from sgnet.loading import bundled_weights

        path = self.weights or (bundled_weights(self.model) if self.model else None)
        return file_sha(path) if path else "none"


def parse_teacher(spec: str, classes: str | None = None) -> Teacher:
    """MODEL:WEIGHTS, WEIGHTS (the model is read from the file) or MODEL (its shipped weights)."""
    from sgnet.registry import list_models

    models = set(list_models())
    head, sep, tail = spec.partition(":")
    if sep and head in models:
        if not Path(tail).is_file():
            raise UserError(f"teacher weights not found: {tail}")
        return Teacher(head, tail, classes)
    if Path(spec).is_file():
        return Teacher(None, spec, classes)
    if spec in models:
        return Teacher(spec, None, classes)
    raise UserError(f"--teacher {spec!r} is neither a model ({', '.join(sorted(models))}), a weights file nor "
                    "MODEL:WEIGHTS")


def load_teacher(teacher: Teacher, device):  # noqa: ANN001, ANN201 - a torch.device in, a Segmenter out
    import sgnet

    return sgnet.Segmenter(teacher.model, teacher.weights, device=device, classes=teacher.classes, confidence=True)


def make_pseudo_labels(
    teacher: Teacher, cfg: PseudoConfig, out: Path, ctx, say: Callable[[str], None],  # noqa: ANN001
    on_frame: Callable[[], None] | None = None,
) -> PseudoReport:
    """OUT/pseudo for this teacher and settings: reused when there, else labelled (sharded over ranks)."""
    from sgnet.train import distributed

    cfg.check()
    teacher_sha = teacher.weights_sha()
    found = existing(out, teacher.describe(), teacher_sha, cfg)
    if found is not None:
        if ctx.is_main:
            say(f"reusing {out / PSEUDO}: {found.line()}")
        return found
    segmenter = load_teacher(teacher, ctx.device)
    if ctx.is_main:
        say(f"teacher: {segmenter.model_name} ({segmenter.classes.describe()}) on {segmenter.device}")
        partial = out / PARTIAL
        if partial.exists():
            import shutil

            shutil.rmtree(partial)  # a run that stopped while labelling
        partial.mkdir(parents=True)
    distributed.barrier()
    t0 = time.perf_counter()
    mine, error = [], None
    try:
        mine = [label_source(segmenter, k, spec, cfg, out / PARTIAL, ctx.rank, ctx.world_size, on_frame)
                for k, spec in enumerate(cfg.sources)]
    except OSError as e:  # a full disk, permissions: nothing half-written is left (the space is given back)
        error = OutputError(f"{why_write_failed(e)} writing pseudo-labels into {out}: {out / PSEUDO} was not "
                            "written (free some space, or choose another --out, and run again)")
    except UserError as e:  # a source that cannot be read: one line
        error = e
    # every rank learns of any rank's failure here, so none waits for the others forever
    parts = gather(([vars(r) for r in mine], None if error is None else (type(error), str(error))), ctx)
    failed = next((f for _, f in parts if f is not None), None)
    if failed is not None:
        if ctx.is_main:
            import shutil

            shutil.rmtree(out / PARTIAL, ignore_errors=True)
        raise error if error is not None else failed[0](failed[1])
    sources = merge_reports([p for p, _ in parts])
    report = new_report(teacher.describe(), teacher_sha, segmenter.classes.key, cfg, sources, t0)
    problem = None
    if ctx.is_main:
        try:
            finish(out, report)
        except OSError as e:
            problem = (OutputError, f"{why_write_failed(e)} finishing {out / PSEUDO}; it was not written")
        except UserError as e:  # a source that gave no frames
            problem = (type(e), str(e))
    problem = gather(problem, ctx)[0]  # rank 0's verdict, to every rank
    if problem is not None:
        raise problem[0](problem[1])
    return report


def gather(obj: object, ctx) -> list:  # noqa: ANN001
    """Every rank's `obj`, in rank order ([obj] in a single process)."""
    if not ctx.distributed:
        return [obj]
    import torch.distributed as dist

    parts: list = [None] * ctx.world_size
    dist.all_gather_object(parts, obj)
    return parts


def train_folders(out: Path, report: PseudoReport) -> tuple[str, ...]:
    return tuple(str(out / PSEUDO / s.folder) for s in report.sources)


def student_classes(out: Path, report: PseudoReport) -> str:
    """The class set the student trains into: the teacher's (a built-in name, else its classes.json)."""
    from assets.classes import BUILTIN

    if report.classes in BUILTIN:
        return report.classes
    return str(out / PSEUDO / report.sources[0].folder / "classes.json")
