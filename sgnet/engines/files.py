"""An exported network given as weights (`.onnx`, OpenVINO `.xml`): what it is, read from its metadata.

The file picks its engine (`.onnx` -> onnxruntime, `.xml` -> openvino); the model name, the class
set, the input size and how the inputs were prepared come from the metadata `sgnet export` embeds,
so the `Segmenter` stages run exactly as they do for the torch network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from assets.classes import ClassSet, ClassSetError
from sgnet.engines import FILE_ENGINES, engine_for_file
from sgnet.errors import SGNetUserError


def _hw(text: str) -> tuple[int, int] | None:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
        return h, w
    except ValueError:
        return None


@dataclass(frozen=True)
class ExportedModel:
    """Duck-types `sgnet.loading.LoadedModel` for an exported file (there is no torch network: `net` is None)."""

    name: str
    weights: Path
    classes: ClassSet
    summary: str
    engine: str  # the engine the file picks
    input_size: tuple[int, int] | None  # None: exported with dynamic shapes
    default_input_size: tuple[int, int] | None
    xyz_mode: str
    meta: dict[str, str] = field(repr=False)
    net: None = None
    shipped: bool = False


def is_exported(path: str | Path | None) -> bool:
    return engine_for_file(path) is not None


def load_exported(path: str | Path, model: str | None = None) -> ExportedModel:
    """Read an exported file's metadata; a file without it (not made by `sgnet export`) is one clear line."""
    from sgnet.engines.metadata import read_metadata

    path = Path(path)
    if not path.is_file():
        raise SGNetUserError(f"exported network not found: {path}")
    meta = read_metadata(path)
    if "model" not in meta or "classes" not in meta:
        raise SGNetUserError(f"{path} carries no sgnet metadata (model, classes): export it with `sgnet export`")
    if model is not None and model != meta["model"]:
        raise SGNetUserError(f"{path.name} is an export of {meta['model']}, not {model}: leave out the model name or "
                             "pass the matching file")
    try:
        classes = ClassSet.from_json(meta["classes"], source=str(path))
    except ClassSetError as e:
        raise SGNetUserError(f"{path}: its class set cannot be read ({e})") from None
    dynamic = meta.get("dynamic") == "1"
    size = None if dynamic else _hw(meta.get("input_size", ""))
    norm = json.loads(meta.get("normalization") or "{}")
    if norm and (norm.get("order") != "BGR" or norm.get("range") != "0-255"):
        raise SGNetUserError(f"{path} expects another input normalisation ({norm}) than this version makes")
    engine = FILE_ENGINES[path.suffix.lower()]
    shape = "any size" if dynamic else f"{size[0]}x{size[1]}" if size else "?"
    summary = (f"exported {meta['model']} {path.name} ({meta.get('format', '?')}, {meta.get('precision', 'fp32')}, "
               f"{shape}, S-Conv {meta.get('sconv', '?')}), {classes.describe()}")
    return ExportedModel(
        name=meta["model"], weights=path, classes=classes, summary=summary, engine=engine, input_size=size,
        default_input_size=_hw(meta.get("default_input_size", "")), xyz_mode=meta.get("xyz_mode", "frame"),
        meta=meta,
    )
