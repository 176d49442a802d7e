"""Which colour/depth pairs a folder holds, or exactly why it holds none.

Dataset layouts come first, read by `sgnet.data`'s readers (their depth units, intrinsics and
pairing are the dataset's own): a TUM RGB-D sequence, a ScanNet scene or folder of scenes, SUN
RGB-D image folders. Then two layouts of plain pairs: NYUDv2 (RGB/ + Depth/ sub-folders, also
color/, image(s)/; matched by file name without the extension) and NAME_color.* + NAME_depth.*
(or NAME_rgb.*) side by side. A folder
without pairs gets a reason that names what is there ("Depth/ holds .exr files; supported: ..."),
not a generic "expected RGB/ and Depth/"; files that are skipped (no partner, a format that is
not read) are said in notes, so a run never quietly holds fewer frames than the folder.
Hidden files (".DS_Store", macOS "._0001.png") are not frames.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import UserError
from app.sources.image_files import COLOR_EXTS, DEPTH_EXTS
from sgnet.data import SegDataset

COLOR_DIRS = ("rgb", "color", "image", "images")
DEPTH_DIRS = ("depth",)
PAIR_SUFFIXES = (("_color", "_depth"), ("_rgb", "_depth"))


@dataclass(frozen=True)
class Pair:
    name: str
    color: Path
    depth: Path


@dataclass(frozen=True)
class Layout:
    pairs: list[Pair]
    name: str  # "RGB/ + Depth/", "*_color / *_depth pairs", "TUM RGB-D sequence" ...
    notes: list[str] = field(default_factory=list)  # what was skipped, for the user
    dataset: SegDataset | None = None  # a dataset layout: frames are read through its reader


DATASET_LAYOUTS = {"tum": "TUM RGB-D sequence", "scannet": "ScanNet", "sunrgbd": "SUN RGB-D"}


def natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def find_pairs(root: Path, depth_scale: float | None = None) -> Layout:
    """The pairs under root in natural name order; `UserError` saying why when there are none.
    depth_scale: metres per unit for a dataset layout (None: the dataset's own)."""
    from sgnet.data import detect_layout, open_dataset

    dirs, files = _scan(root)
    kind = detect_layout(root)
    if kind in DATASET_LAYOUTS:
        notes: list[str] = []
        ds = open_dataset(root, split="all", depth_scale=depth_scale, on_note=notes.append)
        pairs = [Pair(f.name, f.image, f.depth) for f in ds.files]
        return Layout(pairs, DATASET_LAYOUTS[kind], notes, ds)
    cdir, ddir = _pick(dirs, COLOR_DIRS), _pick(dirs, DEPTH_DIRS)
    if cdir is not None and ddir is not None:
        return _nyu_layout(root, cdir, ddir)
    for csuf, dsuf in PAIR_SUFFIXES:
        colors, depths = _suffixed(files, csuf, COLOR_EXTS), _suffixed(files, dsuf, DEPTH_EXTS)
        names = sorted(set(colors) & set(depths), key=natural_key)
        if names:
            notes = _unpaired_notes(colors, depths, f"NAME{csuf}", f"NAME{dsuf}", lambda p: p.name)
            return Layout([Pair(n, colors[n], depths[n]) for n in names], f"*{csuf} / *{dsuf} pairs", notes)
    raise UserError(f"no frames in {root}: {_why_no_pairs(cdir, ddir, files)}")


def _nyu_layout(root: Path, cdir: Path, ddir: Path) -> Layout:
    cfiles, dfiles = _scan(cdir)[1], _scan(ddir)[1]
    colors, depths = _by_stem(cfiles, COLOR_EXTS), _by_stem(dfiles, DEPTH_EXTS)
    clabel, dlabel = f"{cdir.name}/", f"{ddir.name}/"
    names = sorted(set(colors) & set(depths), key=natural_key)
    if not names:
        if not depths:
            why = _holds(dlabel, dfiles, DEPTH_EXTS)
        elif not colors:
            why = _holds(clabel, cfiles, COLOR_EXTS)
        else:
            c0, d0 = (min(m.values(), key=lambda p: natural_key(p.name)).name for m in (colors, depths))
            why = (f"no file in {clabel} has a depth file of the same name in {dlabel} (e.g. {clabel}{c0}, "
                   f"{dlabel}{d0}); pairs are matched by file name without the extension")
        raise UserError(f"no frames in {root}: {why}")
    notes = _unpaired_notes(colors, depths, clabel, dlabel, lambda p: f"{p.parent.name}/{p.name}")
    for label, present, exts in ((clabel, cfiles, COLOR_EXTS), (dlabel, dfiles, DEPTH_EXTS)):
        other = sorted({p.suffix.lower() or "(no extension)" for p in present} - set(exts))
        if other:
            notes.append(f"{label} also holds {', '.join(other)} files, which are not read "
                         f"(supported: {', '.join(exts)})")
    return Layout([Pair(n, colors[n], depths[n]) for n in names], f"{clabel} + {dlabel}", notes)


def _scan(folder: Path) -> tuple[list[Path], list[Path]]:
    """(sub-folders, files) of folder, hidden ones left out, sorted by name."""
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except PermissionError:
        fix = f"check its permissions, e.g. chmod a+rx {shlex.quote(str(folder))}"
        raise UserError(f"cannot list {folder}: permission denied ({fix})") from None
    except OSError as e:
        raise UserError(f"cannot list {folder}: {(e.strerror or str(e)).lower()}") from None
    dirs, files = [], []
    for e in entries:
        try:
            (dirs if e.is_dir() else files if e.is_file() else []).append(Path(e.path))
        except OSError:  # cannot even stat it: keep it as a file, reading it will say why
            files.append(Path(e.path))
    return dirs, files


def _pick(dirs: list[Path], names: tuple[str, ...]) -> Path | None:
    return next((d for d in dirs if d.name.lower() in names), None)


def _by_stem(files: list[Path], exts: tuple[str, ...]) -> dict[str, Path]:
    """stem -> file; where one stem has several supported files, the first extension in exts wins."""
    out: dict[str, Path] = {}
    for p in sorted((p for p in files if p.suffix.lower() in exts), key=lambda p: exts.index(p.suffix.lower())):
        out.setdefault(p.stem, p)
    return out


def _suffixed(files: list[Path], suffix: str, exts: tuple[str, ...]) -> dict[str, Path]:
    return {p.stem[: -len(suffix)]: p for p in files if p.stem.endswith(suffix) and p.suffix.lower() in exts}


def _holds(label: str, files: list[Path], exts: tuple[str, ...]) -> str:
    if not files:
        return f"{label} is empty"
    found = sorted({p.suffix.lower() or "(no extension)" for p in files})
    return f"{label} holds {', '.join(found)} files; supported: {', '.join(exts)}"


def _unpaired_notes(colors: dict, depths: dict, clabel: str, dlabel: str, show) -> list[str]:
    notes = []
    for label, mine, other, olabel in ((clabel, colors, depths, dlabel), (dlabel, depths, colors, clabel)):
        alone = sorted(set(mine) - set(other), key=natural_key)
        if alone:
            notes.append(f"{len(alone)} file(s) in {label} have no partner in {olabel} and are skipped "
                         f"(first: {show(mine[alone[0]])})")
    return notes


def _why_no_pairs(cdir: Path | None, ddir: Path | None, files: list[Path]) -> str:
    if cdir is not None or ddir is not None:
        have, want = (f"{cdir.name}/", "Depth/") if cdir is not None else (f"{ddir.name}/", "RGB/ (or color/, images/)")
        return f"found {have} but no {want} beside it; the NYUDv2 layout needs both"
    for csuf, dsuf in PAIR_SUFFIXES:
        cany = [p for p in files if p.stem.endswith(csuf)]
        dany = [p for p in files if p.stem.endswith(dsuf)]
        if cany and dany:
            for suffix, found, exts in ((dsuf, dany, DEPTH_EXTS), (csuf, cany, COLOR_EXTS)):
                if not _suffixed(found, suffix, exts):
                    kinds = ", ".join(sorted({p.suffix.lower() or "(no extension)" for p in found}))
                    return f"the NAME{suffix} files are {kinds}; supported: {', '.join(exts)}"
            return (f"no NAME{csuf} file has a NAME{dsuf} file with the same NAME "
                    f"(e.g. {cany[0].name}, {dany[0].name})")
    return "expected RGB/ and Depth/ subfolders (NYUDv2 layout) or NAME_color.png + NAME_depth.png pairs"
