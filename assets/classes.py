"""Class sets: what a model's output ids mean (names, colours) and how one set maps onto another.

A class set travels with the weights (their metadata holds it as JSON, timm's `label_names`
idea) and reaches the renderer through the `Segmentation`, never through a global. Three are
built in: `nyu40` (NYUv2-40, the official SGNet checkpoints), `nyu13` (the NYUv2 13-class
protocol of Couprie et al. / Handa et al.) and `sunrgbd37` (SUN RGB-D's 37 classes = NYU40 ids
1..37). Your own is a JSON file:

    {"name": "My rooms", "classes": ["floor", "wall", "furniture", "other"],
     "colors": [[152, 223, 138], [174, 199, 232], [31, 119, 180], [82, 84, 163]],
     "map_from": "nyu40", "map": {"floor": "floor", "floor mat": "floor", "wall": "wall", ...}}

`map_from`/`map` (optional) say which class of another set becomes which of this one, by name:
it lets you train into this set from NYU40-labelled data, and merge an NYU40 model's output
into it at inference (class probabilities summed, then argmax). Source classes left out of
`map` are ignored (training) or do not vote (inference). `colors` is optional (a palette is
made up). Ids are 0-based: id i is `classes[i]`; 255 is "no prediction / ignore".
"""

from __future__ import annotations

import colorsys
import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

NO_PREDICTION = 255
MAX_CLASSES = 255
_UNUSED_GRAY = (128, 128, 128)
BUILTIN = {"nyu40": "nyu40.json", "nyu13": "nyu13.json", "sunrgbd37": "sunrgbd37.json"}

RGB = tuple[int, int, int]


class ClassSetError(ValueError):
    """A class set that cannot be read or used, said in one line (the CLIs print it as it is)."""


@dataclass(frozen=True)
class ClassSet:
    """Names and colours of a model's output ids, and optionally how another set maps onto it."""

    key: str  # how commands and metadata name it: "nyu40", "nyu13", "sunrgbd37", a file's stem
    title: str  # for people: "NYUv2-40"
    names: tuple[str, ...]
    colors: tuple[RGB, ...]
    map_from: str | None = None  # the key of the set `mapping` maps from
    mapping: tuple[tuple[str, str], ...] = ()  # (class of map_from, class of this set)
    no_prediction_color: RGB = (0, 0, 0)
    source: str = field(default="", compare=False)  # where it came from, for messages

    def __post_init__(self) -> None:
        where = self.source or self.key
        if not 1 <= len(self.names) <= MAX_CLASSES:
            raise ClassSetError(f"class set {where}: needs 1..{MAX_CLASSES} classes, got {len(self.names)}")
        seen: set[str] = set()
        for n in self.names:
            if not isinstance(n, str) or not n.strip():
                raise ClassSetError(f"class set {where}: every class name must be a non-empty string, got {n!r}")
            if n in seen:
                raise ClassSetError(f"class set {where}: class {n!r} is named twice")
            seen.add(n)
        if len(self.colors) != len(self.names):
            raise ClassSetError(
                f"class set {where}: {len(self.colors)} colours for {len(self.names)} classes (one [r, g, b] each)"
            )
        for c in (*self.colors, self.no_prediction_color):
            if len(c) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in c):
                raise ClassSetError(f"class set {where}: colours must be [r, g, b] with 0..255 integers, got {c!r}")
        unknown = sorted({dst for _, dst in self.mapping} - seen)
        if unknown:
            raise ClassSetError(f"class set {where}: 'map' names classes it does not have: {', '.join(unknown[:5])}")
        if self.mapping and not self.map_from:
            raise ClassSetError(f"class set {where}: 'map' needs 'map_from' (the class set it maps from, e.g. nyu40)")

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def describe(self) -> str:
        """ "NYUv2-13 (13 classes)" """
        return f"{self.title} ({self.num_classes} classes)"

    @cached_property
    def palette(self) -> np.ndarray:
        """uint8 (256, 3) RGB: a row per class id, row 255 "no prediction", the rest gray, so that
        `palette[labels]` colours any uint8 label image."""
        pal = np.empty((256, 3), np.uint8)
        pal[:] = _UNUSED_GRAY
        pal[: self.num_classes] = np.asarray(self.colors, np.uint8)
        pal[NO_PREDICTION] = self.no_prediction_color
        pal.flags.writeable = False
        return pal

    def colorize(self, labels: np.ndarray) -> np.ndarray:
        """Label ids (uint8 HxW) -> RGB (uint8 HxWx3) in this set's colours."""
        labels = np.asarray(labels)
        if labels.dtype != np.uint8:
            raise TypeError(f"colorize expects uint8 labels, got {labels.dtype}")
        return self.palette[labels]

    def color(self, class_id: int) -> RGB:
        """The RGB colour of one class id (or of 255, "no prediction")."""
        if not (0 <= class_id < self.num_classes or class_id == NO_PREDICTION):
            raise ValueError(f"class id must be 0..{self.num_classes - 1} or {NO_PREDICTION}, got {class_id}")
        r, g, b = (int(v) for v in self.palette[class_id])
        return (r, g, b)

    def lookup_from(self, source: ClassSet) -> np.ndarray:
        """uint8 (256,): source id -> this set's id (255 where the source class has no place here).

        Same classes: identity. Else this set's `map` when it maps from `source`; else, when every
        class of this set is also a class of `source`, by name. Anything else cannot be mapped."""
        table = np.full(256, NO_PREDICTION, np.uint8)
        if source.names == self.names:
            table[: self.num_classes] = np.arange(self.num_classes, dtype=np.uint8)
            return table
        mine = {n: i for i, n in enumerate(self.names)}
        theirs = {n: i for i, n in enumerate(source.names)}
        if self.mapping and self.map_from == source.key:
            missing = sorted({src for src, _ in self.mapping} - set(theirs))
            if missing:
                raise ClassSetError(
                    f"class set {self.key}: 'map' names classes {source.key} does not have: {', '.join(missing[:5])}"
                )
            for src, dst in self.mapping:
                table[theirs[src]] = mine[dst]
            return table
        if set(mine) <= set(theirs):
            for n, i in mine.items():
                table[theirs[n]] = i
            return table
        raise ClassSetError(
            f"cannot map {source.describe()} onto {self.describe()}: no 'map_from': \"{source.key}\" in {self.key} "
            f"and its classes are not all {source.key} classes (add a 'map' to the class set's JSON)"
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "key": self.key, "name": self.title, "classes": list(self.names), "colors": [list(c) for c in self.colors],
            "no_prediction_color": list(self.no_prediction_color),
        }
        if self.map_from:
            d["map_from"], d["map"] = self.map_from, dict(self.mapping)
        return d

    def to_json(self) -> str:
        """Compact JSON for weights metadata; `from_json` reads it back to an equal set."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Any, key: str, source: str = "") -> ClassSet:
        where = source or key
        if not isinstance(d, dict):
            raise ClassSetError(f"class set {where}: expected a JSON object with 'classes', got {type(d).__name__}")
        names = d.get("classes")
        if not isinstance(names, list) or not names:
            raise ClassSetError(f"class set {where}: 'classes' must be a non-empty list of class names")
        colors = d.get("colors")
        if colors is None:
            colors = made_up_colors(len(names))
        if not isinstance(colors, list) or not all(isinstance(c, list | tuple) for c in colors):
            raise ClassSetError(f"class set {where}: 'colors' must be a list of [r, g, b]")
        mapping = d.get("map") or {}
        names_only = all(isinstance(k, str) and isinstance(v, str) for k, v in getattr(mapping, "items", dict)())
        if not isinstance(mapping, dict) or not names_only:
            raise ClassSetError(f"class set {where}: 'map' must be an object {{source class: class}} of names")
        map_from = d.get("map_from")
        if map_from is not None and not isinstance(map_from, str):
            raise ClassSetError(f"class set {where}: 'map_from' must be a class set name such as nyu40")
        return cls(
            key=str(d.get("key") or key),
            title=str(d.get("name") or key),
            names=tuple(names),
            colors=tuple(tuple(c) for c in colors),  # type: ignore[misc]
            map_from=map_from,
            mapping=tuple(mapping.items()),
            no_prediction_color=tuple(d.get("no_prediction_color") or (0, 0, 0)),  # type: ignore[arg-type]
            source=source,
        )

    @classmethod
    def from_json(cls, text: str, key: str = "custom", source: str = "") -> ClassSet:
        try:
            d = json.loads(text)
        except ValueError as e:
            raise ClassSetError(f"class set {source or key} is not valid JSON ({e})") from None
        return cls.from_dict(d, key, source)


def made_up_colors(n: int) -> list[list[int]]:
    """n distinct colours (golden-ratio hues), for class sets that bring none."""
    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.65, 0.95 - 0.25 * (i % 2))
        out.append([round(r * 255), round(g * 255), round(b * 255)])
    return out


@cache
def builtin_class_set(key: str) -> ClassSet:
    text = (resources.files("assets") / BUILTIN[key]).read_text(encoding="utf-8")
    return ClassSet.from_json(text, key, key)


def get_class_set(spec: str | Path | ClassSet) -> ClassSet:
    """A class set by name (`nyu40`, `nyu13`, `sunrgbd37`) or from a JSON file (see the module doc)."""
    if isinstance(spec, ClassSet):
        return spec
    text = str(spec)
    if text.lower() in BUILTIN:
        return builtin_class_set(text.lower())
    path = Path(text).expanduser()
    if path.suffix.lower() != ".json" and not path.exists():
        known = ", ".join(BUILTIN)
        raise ClassSetError(f"unknown class set {text!r}: use {known} or a .json file (see docs/classes.md)")
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ClassSetError(f"class set file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        why = "permission denied" if isinstance(e, PermissionError) else str(getattr(e, "strerror", None) or e).lower()
        raise ClassSetError(f"cannot read class set file {path}: {why}") from None
    return ClassSet.from_json(raw, key=path.stem, source=str(path))


def generic_class_set(num_classes: int) -> ClassSet:
    """Names "class 0".. and made-up colours, for weights that say nothing about their classes."""
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ClassSetError(f"a class set needs 1..{MAX_CLASSES} classes, got {num_classes}")
    names = tuple(f"class {i}" for i in range(num_classes))
    colors = tuple(tuple(c) for c in made_up_colors(num_classes))
    return ClassSet(f"classes{num_classes}", f"{num_classes} unnamed classes", names, colors)  # type: ignore[arg-type]


_BY_SIZE = {40: "nyu40", 37: "sunrgbd37", 13: "nyu13"}


def default_class_set(num_classes: int) -> ClassSet:
    """The class set assumed for weights without one in their metadata (official SGNet files):
    NYUv2-40 for 40 outputs, SUN RGB-D-37 for 37, NYUv2-13 for 13, else unnamed classes."""
    key = _BY_SIZE.get(num_classes)
    return builtin_class_set(key) if key else generic_class_set(num_classes)
