"""Small, real fixtures of each dataset layout (files written with OpenCV, NumPy and the project's
own palette-PNG writer), shared by the tests/test_data_*.py files. Values are chosen so a test can
tell a right reading from a wrong one: depth differs per pixel, labels cover several ids."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

from app.sinks.png import write_indexed_png

W, H = 32, 24


def color_image(i: int, size=(W, H)) -> np.ndarray:
    """RGB, R encodes the sample, G the column: a resize or a swap of samples shows."""
    w, h = size
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = 10 * i
    rgb[..., 1] = np.linspace(0, 255, w, dtype=np.uint8)[None]
    rgb[..., 2] = 200
    return rgb


def depth_mm(i: int, size=(W, H)) -> np.ndarray:
    w, h = size
    return (1000 + 10 * i + np.arange(h * w).reshape(h, w) % 500).astype(np.uint16)


def label_ids(i: int, n: int = 40, size=(W, H)) -> np.ndarray:
    """Stored 1-based ids 0..n in horizontal bands (0 = unlabelled)."""
    w, h = size
    return ((np.arange(h)[:, None] // 4 + i) % (n + 1) * np.ones((1, w), int)).astype(np.uint8)


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))


def write_png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def palette(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (256, 3), dtype=np.uint8)


def write_palette_png(path: Path, indices: np.ndarray) -> None:
    """An 8-bit palette PNG, as the app's `labels.png` screenshots and most label exports are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_indexed_png(path, indices.astype(np.uint8), palette())


def write_packed_palette_png(path: Path, indices: np.ndarray, bits: int) -> None:
    """A 1/2/4-bit palette PNG whose rows use the Sub and Up filters (as libpng and Pillow write
    them): the reader must undo both the packing and the filters."""
    h, w = indices.shape
    per = 8 // bits
    padded = np.pad(indices.astype(np.uint8), ((0, 0), (0, (-w) % per))).reshape(h, -1, per)
    packed = np.zeros(padded.shape[:2], np.uint8)
    for k in range(per):
        packed |= (padded[:, :, k] << (8 - bits * (k + 1))).astype(np.uint8)
    rows = []
    for y in range(h):
        row = packed[y]
        if y % 2:  # Up: minus the row above
            rows.append(b"\x02" + (row - packed[y - 1]).astype(np.uint8).tobytes())
        else:  # Sub: minus the byte to the left
            rows.append(b"\x01" + (row - np.concatenate([[0], row[:-1]])).astype(np.uint8).tobytes())

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, 3, 0, 0, 0))
           + chunk(b"PLTE", palette()[: 2**bits].tobytes()) + chunk(b"tRNS", b"\x00")
           + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


# --- layouts ---------------------------------------------------------------------------------


def write_nyu(root: Path, names=("0", "1", "2"), rgb_ext=".jpg", depth="png", label="grey",
              label_dir="Label", size=(W, H), test=("1", "2")) -> Path:
    """RGB/, Depth/ (png mm | npy-m float metres | npy-u16 raw mm), Label*/ (grey | palette)."""
    for i, n in enumerate(names):
        write_rgb(root / "RGB" / f"{n}{rgb_ext}", color_image(i, size))
        d = depth_mm(i, size)
        (root / "Depth").mkdir(parents=True, exist_ok=True)
        if depth == "png":
            write_png(root / "Depth" / f"{n}.png", d)
        elif depth == "npy-m":
            np.save(root / "Depth" / f"{n}.npy", d.astype(np.float32) / 1000)
        else:
            np.save(root / "Depth" / f"{n}.npy", d)
        if label:
            lab = label_ids(i, 13 if label_dir == "Label13" else 40, size)
            p = root / label_dir / f"{n}.png"
            write_palette_png(p, lab) if label == "palette" else write_png(p, lab)
    if test:
        (root / "test.txt").write_text("".join(f"{n}\n" for n in test))
    return root


def rotate_sun(mm: np.ndarray) -> np.ndarray:
    """What SUN RGB-D stores for millimetres: the 16 bits rotated left by 3."""
    mm = mm.astype(np.uint16)
    return (mm << np.uint16(3)) | (mm >> np.uint16(13))


SUN_K = (30.0, 31.0, 16.5, 12.5)  # fx, fy and the 1-based principal point


def write_sun_folder(d: Path, i: int, size=(W, H), depth_dir="depth_bfx", label_dir="label37", k=SUN_K) -> Path:
    stem = d.name
    write_rgb(d / "image" / f"{stem}.jpg", color_image(i, size))
    write_png(d / depth_dir / f"{stem}.png", rotate_sun(depth_mm(i, size)))
    if depth_dir == "depth_bfx":  # the raw depth beside it, with holes: must not be the one read
        write_png(d / "depth" / f"{stem}.png", np.zeros(size[::-1], np.uint16))
    if label_dir:
        write_png(d / label_dir / f"{stem}.png", label_ids(i, 37, size))
    fx, fy, cx, cy = k
    (d / "intrinsics.txt").write_text(f"{fx} 0 {cx}\n0 {fy} {cy}\n0 0 1\n")
    (d / "scene.txt").write_text("office\n")
    return d


TSV_ROWS = [(1, "wall", 1), (2, "chair", 5), (22, "ceiling", 22), (1163, "stick", 40), (777, "unmapped", "")]


def write_tsv(path: Path) -> Path:
    lines = ["id\traw_category\tcategory\tcount\tnyu40id\teigen13id\tnyuClass"]
    lines += [f"{i}\t{name}\t{name}\t1\t{nyu}\t1\t{name}" for i, name, nyu in TSV_ROWS]
    path.write_text("\n".join(lines) + "\n")
    return path


SCANNET_DEPTH_K = (28.0, 28.5, 15.5, 11.5)


def scannet_raw_label(i: int, size=(2 * W, 2 * H)) -> np.ndarray:
    """Raw ScanNet ids (16-bit): the tsv's ids in bands, and 0."""
    w, h = size
    ids = np.array([0, 1, 2, 22, 1163, 777], np.uint16)
    return ids[(np.arange(h)[:, None] // 8 + i) % len(ids)] * np.ones((1, w), np.uint16)


def write_scannet_scene(scene: Path, frames=(0, 1, 2), labels=True, color_size=(2 * W, 2 * H)) -> Path:
    """color/ at twice the depth's size (as 1296x968 against 640x480), intrinsic/, pose/, label-filt/."""
    for i in frames:
        write_rgb(scene / "color" / f"{i}.jpg", color_image(i, color_size))
        write_png(scene / "depth" / f"{i}.png", depth_mm(i))
        (scene / "pose").mkdir(parents=True, exist_ok=True)
        (scene / "pose" / f"{i}.txt").write_text("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n")
        if labels:
            write_png(scene / "label-filt" / f"{i}.png", scannet_raw_label(i, color_size))
    (scene / "intrinsic").mkdir(parents=True, exist_ok=True)
    fx, fy, cx, cy = SCANNET_DEPTH_K
    (scene / "intrinsic" / "intrinsic_depth.txt").write_text(
        f"{fx} 0 {cx} 0\n0 {fy} {cy} 0\n0 0 1 0\n0 0 0 1\n")
    (scene / "intrinsic" / "intrinsic_color.txt").write_text(
        f"{2 * fx} 0 {2 * cx} 0\n0 {2 * fy} {2 * cy} 0\n0 0 1 0\n0 0 0 1\n")
    return scene


TUM_RGB = [1305031102.175304, 1305031102.211214, 1305031102.243211, 1305031102.275326, 1305031102.311267]
TUM_DEPTH = [1305031102.160407, 1305031102.194330, 1305031102.226738, 1305031102.262886, 1305031102.295279]


def write_tum(seq: Path, rgb=TUM_RGB, depth=TUM_DEPTH) -> Path:
    """rgb.txt/depth.txt with TUM's header comments; depth in units of 1/5000 m."""
    for kind, stamps in (("rgb", rgb), ("depth", depth)):
        lines = [f"# {kind} maps", "# file: 'rgbd_dataset_freiburg1_xyz.bag'", "# timestamp filename"]
        for i, t in enumerate(stamps):
            rel = f"{kind}/{t:.6f}.png"
            lines.append(f"{t:.6f} {rel}")
            if kind == "rgb":
                write_rgb(seq / rel, color_image(i))
            else:
                write_png(seq / rel, (depth_mm(i).astype(np.uint32) * 5).astype(np.uint16))
        (seq / f"{kind}.txt").write_text("\n".join(lines) + "\n")
    (seq / "accelerometer.txt").write_text("# accelerometer data\n")
    return seq


def write_intrinsics_json(root: Path, w: int, h: int, fx=30.0, fy=31.0) -> None:
    (root / "intrinsics.json").write_text(json.dumps(dict(width=w, height=h, fx=fx, fy=fy, cx=(w - 1) / 2,
                                                          cy=(h - 1) / 2)))
