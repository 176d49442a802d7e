"""Damaged folder sources (issue 15): a file that cannot be used is named with the reason — one
line and exit 2 when it is the first frame, a bad frame later while the run goes on — and
neither libpng nor OpenCV prints its own lines on stderr."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.errors import UserError
from app.sources.base import BadFrame
from app.sources.folder import FolderSource
from app.sources.stderr_filter import without_decoder_chatter
from sgnet.data import files as data_files
from sgnet.frames import RGBDFrame

ROOT = Path(__file__).resolve().parents[1]
LIVE = "from app.cli_live import main; main()"
CHATTER = ("libpng", "WARN:", "ERROR:", "grfmt", "imread", "Traceback")


def _pair(root: Path, i: int, size=(32, 24)) -> None:
    w, h = size
    (root / "RGB").mkdir(parents=True, exist_ok=True)
    (root / "Depth").mkdir(exist_ok=True)
    cv2.imwrite(str(root / "RGB" / f"{i:04d}.png"), np.full((h, w, 3), (10 * i, 100, 200), np.uint8))
    depth = np.full((h, w), 1000 + i, np.uint16)
    depth[::2, ::3] = 3000  # some texture, so the PNG has real image data to cut short
    cv2.imwrite(str(root / "Depth" / f"{i:04d}.png"), depth)


def _folder(root: Path, n: int = 3) -> Path:
    for i in range(n):
        _pair(root, i)
    return root


def _truncate(path: Path, keep: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep] if keep > 0 else data[:keep or None])


def _replace_color(root: Path, i: int, ext: str, image: np.ndarray, keep: int = 0) -> None:
    (root / "RGB" / f"{i:04d}.png").unlink()
    data = cv2.imencode(ext, image)[1].tobytes()
    (root / "RGB" / f"{i:04d}{ext}").write_bytes(data[:keep] if keep else data)


def _truncated_npy(root: Path, i: int) -> None:
    (root / "Depth" / f"{i:04d}.png").unlink()
    np.save(root / "Depth" / f"{i:04d}.npy", np.full((24, 32), 1.5, np.float32))
    _truncate(root / "Depth" / f"{i:04d}.npy", 200)


# (damage to frame i, the reason that names the file). The last four bytes of a PNG are its end
# chunk's checksum: cut there, libpng itself prints "libpng error: ..."; a JPEG cut to 20 bytes
# makes OpenCV log lines of its own.
DAMAGE = {
    "truncated depth png": (lambda r, i: _truncate(r / "Depth" / f"{i:04d}.png", -4),
                            "Depth/{i:04d}.png is truncated or corrupt (cannot decode)"),
    "truncated colour jpeg": (lambda r, i: _replace_color(r, i, ".jpg", np.zeros((24, 32, 3), np.uint8), keep=20),
                              "RGB/{i:04d}.jpg is truncated or corrupt (cannot decode)"),
    "empty depth": (lambda r, i: (r / "Depth" / f"{i:04d}.png").write_bytes(b""),
                    "Depth/{i:04d}.png is empty (0 bytes)"),
    "not an image": (lambda r, i: (r / "Depth" / f"{i:04d}.png").write_bytes(b"hello"),
                     "Depth/{i:04d}.png is not an image file (cannot decode)"),
    "16-bit colour": (lambda r, i: _replace_color(r, i, ".png", np.zeros((24, 32, 3), np.uint16)),
                      "RGB/{i:04d}.png is 16-bit 3-channel; colour images must be 8-bit with 3 channels (RGB)"),
    "grayscale colour": (lambda r, i: _replace_color(r, i, ".png", np.zeros((24, 32), np.uint8)),
                         "RGB/{i:04d}.png is 8-bit grayscale (1 channel); colour images must be 8-bit with 3 "
                         "channels (RGB)"),
    "8-bit depth": (lambda r, i: cv2.imwrite(str(r / "Depth" / f"{i:04d}.png"), np.zeros((24, 32), np.uint8)),
                    "Depth/{i:04d}.png is 8-bit; depth must be 16-bit raw units (metres per unit: --depth-scale) "
                    "or float metres"),
    "truncated npy": (_truncated_npy, "Depth/{i:04d}.npy is truncated or corrupt (cannot read the array)"),
}
# damage that happens after the folder was listed (a file removed or rewritten during the run)
LATER = {
    "depth removed": (lambda r, i: (r / "Depth" / f"{i:04d}.png").unlink(), "Depth/{i:04d}.png: no such file"),
    "depth became a folder": (lambda r, i: ((r / "Depth" / f"{i:04d}.png").unlink(),
                                            (r / "Depth" / f"{i:04d}.png").mkdir()),
                              "Depth/{i:04d}.png is a folder, not an image file"),
    "size changed": (lambda r, i: _pair(r, i, size=(16, 12)),
                     "RGB/{i:04d}.png 16x12 / Depth/{i:04d}.png 16x12 differ from the folder's 32x24"),
}


def _items(source: FolderSource) -> list:
    with source:
        return list(source)


@pytest.mark.parametrize("kind", list(DAMAGE) + list(LATER))
def test_a_damaged_later_file_is_one_bad_frame_that_names_it(tmp_path, capfd, kind):
    _folder(tmp_path)
    damage, reason = {**DAMAGE, **LATER}[kind]
    if kind in DAMAGE:
        damage(tmp_path, 1)
    source = FolderSource(tmp_path)  # reads frame 0 only
    if kind in LATER:
        damage(tmp_path, 1)
    items = _items(source)
    assert [type(x).__name__ for x in items] == ["RGBDFrame", "BadFrame", "RGBDFrame"]
    assert items[1].reason == reason.format(i=1)
    err = capfd.readouterr().err
    assert not any(word in err for word in CHATTER), err


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_first_file_is_one_line_before_anything_runs(tmp_path, capfd, kind):
    _folder(tmp_path)
    damage, reason = DAMAGE[kind]
    damage(tmp_path, 0)
    with pytest.raises(UserError) as e:
        FolderSource(tmp_path)
    assert str(e.value) == f"{tmp_path}/{reason.format(i=0)}"
    err = capfd.readouterr().err
    assert not any(word in err for word in CHATTER), err


def _deny(path: Path):
    real_fromfile = np.fromfile

    def fake_fromfile(p, *a, **k):
        if Path(p) == path:
            raise PermissionError(13, "Permission denied", str(p))
        return real_fromfile(p, *a, **k)

    return fake_fromfile


def test_permission_denied_simulated(tmp_path, monkeypatch):
    """What chmod 000 does to a normal user, for runs as root (the real thing is tested below)."""
    _folder(tmp_path)
    monkeypatch.setattr(data_files.np, "fromfile", _deny(tmp_path / "Depth" / "0000.png"))
    with pytest.raises(UserError, match="0000.png: permission denied .check its permissions, e.g. chmod a.r "):
        FolderSource(tmp_path)
    monkeypatch.undo()
    monkeypatch.setattr(data_files.np, "fromfile", _deny(tmp_path / "Depth" / "0002.png"))
    items = _items(FolderSource(tmp_path))
    assert isinstance(items[2], BadFrame) and items[2].reason == "Depth/0002.png: permission denied"


# --- what the folder holds -------------------------------------------------------------------


def test_unsupported_extensions_are_named(tmp_path):
    _folder(tmp_path, 1)
    for p in (tmp_path / "Depth").iterdir():
        p.rename(p.with_suffix(".exr"))
    with pytest.raises(UserError) as e:
        FolderSource(tmp_path)
    assert str(e.value) == f"no frames in {tmp_path}: Depth/ holds .exr files; supported: .png, .npy, .tif, .tiff, .pgm"
    (tmp_path / "Depth" / "0000.exr").rename(tmp_path / "Depth" / "0000.png")
    (tmp_path / "RGB" / "0000.png").rename(tmp_path / "RGB" / "0000.gif")
    with pytest.raises(UserError, match=r"RGB/ holds .gif files; supported: .png, .jpg, .jpeg"):
        FolderSource(tmp_path)


def test_unsupported_extensions_in_the_pairs_layout_are_named(tmp_path):
    cv2.imwrite(str(tmp_path / "a_color.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "a_depth.pgm"), np.zeros((8, 8), np.uint16))  # supported now
    assert FolderSource(tmp_path).info.num_frames == 1
    (tmp_path / "a_depth.pgm").rename(tmp_path / "a_depth.exr")
    with pytest.raises(UserError, match=r"no frames in .*: the NAME_depth files are .exr; supported: .png, .npy"):
        FolderSource(tmp_path)


@pytest.mark.parametrize("ext", [".tiff", ".tif", ".pgm"])
def test_16bit_tiff_and_pgm_depth_are_read_losslessly(tmp_path, ext):
    _folder(tmp_path, 2)
    depth = (np.arange(24 * 32).reshape(24, 32) * 85).astype(np.uint16)  # up to 65195: all 16 bits used
    for i in range(2):
        (tmp_path / "Depth" / f"{i:04d}.png").unlink()
        assert cv2.imwrite(str(tmp_path / "Depth" / f"{i:04d}{ext}"), depth)
    frames = _items(FolderSource(tmp_path))
    assert all(isinstance(f, RGBDFrame) and np.array_equal(f.depth, depth) for f in frames) and len(frames) == 2


def test_float_tiff_depth_is_metres(tmp_path):
    _folder(tmp_path, 1)
    (tmp_path / "Depth" / "0000.png").unlink()
    cv2.imwrite(str(tmp_path / "Depth" / "0000.tiff"), np.full((24, 32), 1.25, np.float32))
    frame = _items(FolderSource(tmp_path))[0]
    assert frame.depth.dtype == np.uint16 and int(frame.depth[0, 0]) == 1250


def test_layouts_without_pairs_say_why(tmp_path):
    _folder(tmp_path, 2)
    for p in (tmp_path / "Depth").iterdir():
        p.rename(p.with_name("d" + p.name))
    with pytest.raises(UserError, match=r"no file in RGB/ has a depth file of the same name in Depth/ "
                                        r"\(e.g. RGB/0000.png, Depth/d0000.png\)"):
        FolderSource(tmp_path)
    shutil.rmtree(tmp_path / "Depth")
    with pytest.raises(UserError, match="found RGB/ but no Depth/ beside it"):
        FolderSource(tmp_path)


def test_skipped_and_hidden_files_are_said_or_ignored(tmp_path):
    _folder(tmp_path, 3)
    (tmp_path / "Depth" / "0001.png").unlink()
    (tmp_path / "Depth" / "0005.jpg").write_bytes(b"x")
    for d in ("RGB", "Depth"):  # macOS resource forks: never frames
        (tmp_path / d / "._0000.png").write_bytes(b"junk")
    source = FolderSource(tmp_path)
    assert source.info.num_frames == 2
    assert source.notes[:2] == [
        "1 file(s) in RGB/ have no partner in Depth/ and are skipped (first: RGB/0001.png)",
        "Depth/ also holds .jpg files, which are not read (supported: .png, .npy, .tif, .tiff, .pgm)",
    ]


def test_decoder_chatter_is_dropped_and_other_stderr_kept(capfd):
    def noisy():
        os.write(2, b"libpng error: PNG input buffer is incomplete\nsomeone else's line\n")
        os.write(2, b"[ WARN:0@0.1] global grfmt_png.cpp:792 readFromStreamOrBuffer incomplete\n")
        return 7

    assert without_decoder_chatter(noisy) == 7
    assert capfd.readouterr().err == "someone else's line\n"


# --- through the real CLI, with real permissions ----------------------------------------------


def _unprivileged() -> list[str] | None:
    """A command prefix under which chmod 000 really stops reading: none for a normal user; root
    without the capabilities that bypass file permissions (setpriv); None when neither is possible."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv"):
        return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    return None


def _run(prefix: list[str], code: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run(prefix + [sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_unreadable_folder_subfolder_or_first_image_is_one_line(tmp_path):
    prefix = _unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: chmod 000 does not stop reading")
    cases = {"top": "", "sub": "Depth", "first": "RGB/0000.png"}
    for name, inner in cases.items():
        _folder(tmp_path / name, 1)
        (tmp_path / name / inner).chmod(0)
    script = textwrap.dedent("""
        import sys
        from app.cli_live import main
        for folder in sys.argv[1:]:
            try:
                main(["--camera", folder, "--headless", "--device", "cpu"])
            except SystemExit as e:
                print(e.code)
    """)
    try:
        r = _run(prefix, script, *(tmp_path / name for name in cases))
    finally:
        for name, inner in cases.items():
            (tmp_path / name / inner).chmod(0o755)
    assert r.stdout.split() == ["2", "2", "2"], r.stderr
    top, sub, first = tmp_path / "top", tmp_path / "sub" / "Depth", tmp_path / "first" / "RGB" / "0000.png"
    assert r.stderr.splitlines() == [
        f"sgnet-live: error: cannot list {top}: permission denied (check its permissions, e.g. chmod a+rx {top})",
        f"sgnet-live: error: cannot list {sub}: permission denied (check its permissions, e.g. chmod a+rx {sub})",
        f"sgnet-live: error: {first}: permission denied (check its permissions, e.g. chmod a+r {first})",
    ]


def test_cli_damaged_frames_are_named_in_the_log_and_the_run_goes_on(tmp_path):
    prefix = _unprivileged()
    folder, log = _folder(tmp_path / "f", 8), tmp_path / "lat.csv"
    expected = {}
    for i, kind in enumerate(["truncated depth png", "truncated colour jpeg", "empty depth", "grayscale colour",
                              "8-bit depth"], start=1):
        damage, reason = DAMAGE[kind]
        damage(folder, i)
        expected[i] = reason.format(i=i)
    if prefix is not None:  # a later depth PNG nobody may read: one bad frame, not "cannot write output"
        (folder / "Depth" / "0006.png").chmod(0)
        expected[6] = "Depth/0006.png: permission denied"
    try:
        r = _run(prefix or [], LIVE, "--camera", folder, "--headless", "--device", "cpu", "--width", 64,
                 "--height", 48, "--quiet", "--log-latency", log)
    finally:
        (folder / "Depth" / "0006.png").chmod(0o644)
    assert r.returncode == 0, r.stderr
    assert not any(word in r.stderr for word in CHATTER), r.stderr
    with open(log, newline="") as f:
        bad = {int(row["index"]): row["bad"] for row in csv.DictReader(f)}
    assert bad == {i: expected.get(i, "") for i in range(8)}
