"""The class set of a result reaches every picture: the window's legend, hover text and views,
the screenshot bundle (labels.png palette, cloud.ply colours, meta.json), the PLY header and
eval's prediction PNGs are drawn in `Segmentation.classes`, never in NYUv2-40 by default.

Each check reads back what a user sees: the legend widget's painted swatches (a real Qt widget,
offscreen), PNG palettes from their chunks and OpenCV, PLY colours with Open3D, a real `sgnet-live` subprocess.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PyQt5.QtCore import Qt

from app.gui.launch import qt_application
from app.gui.legend import BOX_W, ROW_H, SWATCH
from app.gui.main_window import MainWindow
from app.gui.options import GuiOptions
from app.gui.session import build_session
from app.live import LiveOptions
from app.render import render_view
from app.sinks.ply import write_ply
from app.sources.base import SourceOptions
from app.sources.demo import DemoSource
from assets import get_class_set, nyu40
from assets.classes import ClassSet
from sgnet.evaluate import save_prediction_png
from sgnet.frames import NO_PREDICTION, RGBDFrame, Segmentation

ROOT = Path(__file__).resolve().parents[1]
W, H = 64, 48
TIMINGS = {"upload": 0.5, "spatial": 0.5, "model": 3.0, "postprocess": 0.5}
NYU13 = get_class_set("nyu13")
FOUR_COLORS = [[250, 10, 10], [10, 250, 10], [10, 10, 250], [240, 240, 20]]
FURNITURE = {"bed", "chair", "sofa", "table", "desk", "cabinet", "bookshelf", "dresser", "counter", "shelves"}


def four_class_file(folder: Path) -> Path:
    """A user's own set: 4 classes in colours no built-in set uses, mapped from NYUv2-40 by name."""
    mapping = {}
    for name in nyu40().names:
        mapping[name] = name if name in ("floor", "wall") else "furniture" if name in FURNITURE else "other"
    path = folder / "four.json"
    path.write_text(json.dumps({
        "name": "Four rooms", "classes": ["floor", "wall", "furniture", "other"], "colors": FOUR_COLORS,
        "map_from": "nyu40", "map": mapping,
    }))
    return path


class Nyu13Oracle:
    """Answers with the demo clip's rendered labels mapped into NYUv2-13, as a 13-class model would."""

    model_name = "oracle13"
    device = "cpu"
    precision = "fp32"
    weights = None
    classes = NYU13

    def __init__(self) -> None:
        self.demo = DemoSource(SourceOptions(width=W, height=H))
        self.to13 = NYU13.lookup_from(nyu40())

    def segment(self, frame: RGBDFrame) -> Segmentation:
        time.sleep(0.01)
        return Segmentation(frame, self.to13[self.demo.ground_truth(frame.index)], dict(TIMINGS), NYU13)


def open_window(tmp_path: Path, qtbot, segmenter) -> MainWindow:
    qt_application()
    session = build_session(LiveOptions(camera="demo"), DemoSource(SourceOptions(width=W, height=H)), segmenter)
    w = MainWindow(session, GuiOptions(capture_dir=str(tmp_path / "captures")))
    qtbot.addWidget(w)
    w.show()
    session.start()
    qtbot.waitUntil(lambda: w.shown_count >= 2, timeout=30000)
    qtbot.keyClick(w, Qt.Key_Space)  # pause, so the legend and the current result stay together
    last = -1
    while last != w.shown_count:
        last = w.shown_count
        qtbot.wait(300)
    return w


def painted_swatches(w: MainWindow) -> list[tuple[int, int, int]]:
    """The colour at the centre of each legend row's swatch, as the widget paints it."""
    pix = w.legend.grab()
    img, ratio = pix.toImage(), pix.devicePixelRatio()
    out = []
    for i in range(len(w.legend.rows)):
        x = BOX_W + 2 + SWATCH // 2
        y = i * ROW_H + (ROW_H - SWATCH) // 2 + SWATCH // 2
        c = img.pixelColor(round(x * ratio), round(y * ratio))
        out.append((c.red(), c.green(), c.blue()))
    return out


def check_window_draws_set(w: MainWindow, classes: ClassSet) -> None:
    seg = w.current.seg
    assert seg.classes == classes
    present = sorted(int(c) for c in np.unique(seg.labels) if c != NO_PREDICTION)
    rows = w.legend.rows
    assert sorted(r.class_id for r in rows) == present and len(rows) >= 2
    assert [r.name for r in rows] == [classes.names[r.class_id] for r in rows]
    assert [r.rgb for r in rows] == [classes.colors[r.class_id] for r in rows]
    assert painted_swatches(w) == [classes.colors[r.class_id] for r in rows]
    assert classes.title in w.legend_heading.text()
    # the labels view is the set's colours; the status bar names a pixel's class from the set
    w.set_view("labels")
    np.testing.assert_array_equal(w.image_view.image_array(), classes.palette[seg.labels])
    y, x = np.argwhere(seg.labels != NO_PREDICTION)[0]
    assert classes.names[seg.labels[y, x]] in w.hover_text(int(x), int(y))
    if seg.confidence is not None:  # the model's confidence there
        assert f"{100 * seg.confidence[y, x]:.0f}%" in w.hover_text(int(x), int(y))
    else:
        assert "%" not in w.hover_text(int(x), int(y))


def read_palette_png(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ids HxW, palette Nx3) of a palette PNG: PLTE read from the chunks, the ids decoded by OpenCV
    from the same image relabelled as grey (so OpenCV, not our writer, undoes the PNG filters)."""
    data = path.read_bytes()
    pos, palette, out = 8, None, [data[:8]]
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            assert payload[9] == 3, "not a palette PNG"
            payload = payload[:9] + b"\x00" + payload[10:]
        if kind == b"PLTE":
            palette = np.frombuffer(payload, np.uint8).reshape(-1, 3)
            continue
        out.append(struct.pack(">I", n) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload)))
    ids = cv2.imdecode(np.frombuffer(b"".join(out), np.uint8), cv2.IMREAD_UNCHANGED)
    return ids, palette


def saved_bundle(qtbot, w: MainWindow, folder: Path) -> Path:
    qtbot.keyClick(w, Qt.Key_S)
    w.captures.close()  # waits for the write
    (shot,) = [p for p in folder.iterdir() if p.name.startswith("frame_")]
    return shot


def check_bundle_in_set(shot: Path, classes: ClassSet, labels: np.ndarray | None = None) -> None:
    """labels.png's palette and cloud.ply's colours are the set's; meta.json names the set."""
    import open3d as o3d

    ids, palette = read_palette_png(shot / "labels.png")
    n = classes.num_classes
    assert palette[:n].tolist() == [list(c) for c in classes.colors]
    assert set(np.unique(ids).tolist()) <= set(range(n)) | {NO_PREDICTION}
    if labels is not None:
        np.testing.assert_array_equal(ids, labels)
    cloud = o3d.io.read_point_cloud(str(shot / "cloud.ply"))
    rgb = np.round(np.asarray(cloud.colors) * 255).astype(np.uint8)
    data = (shot / "cloud.ply").read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    labels = np.frombuffer(data[end:], np.dtype("<f4,<f4,<f4,u1,u1,u1,u1"))["f6"]
    assert len(rgb) == len(labels) > 0
    np.testing.assert_array_equal(rgb, classes.palette[labels])
    assert f"label 0 = {classes.names[0]}" in data[:end].decode("ascii")
    meta = json.loads((shot / "meta.json").read_text())
    assert meta["class_set"]["classes"] == list(classes.names)
    assert ClassSet.from_dict(meta["class_set"], "bundle") == classes  # the bundle says what its ids mean
    assert all(c["name"] == classes.names[c["id"]] and c["rgb"] == list(classes.colors[c["id"]])
               for c in meta["classes"])


# -- the window ---------------------------------------------------------------------------------
def test_window_legend_hover_and_bundle_of_a_13_class_model(qtbot, tmp_path):
    w = open_window(tmp_path, qtbot, Nyu13Oracle())
    try:
        check_window_draws_set(w, NYU13)
        check_bundle_in_set(saved_bundle(qtbot, w, tmp_path / "captures"), NYU13, w.current.seg.labels)
    finally:
        w.close()


def test_window_with_a_custom_json_class_set_on_the_real_model(qtbot, tmp_path):
    import sgnet

    path = four_class_file(tmp_path)
    seg = sgnet.Segmenter("sgnet_lite", classes=str(path), device="cpu")
    assert seg.classes.names == ("floor", "wall", "furniture", "other")
    w = open_window(tmp_path, qtbot, seg)
    try:
        check_window_draws_set(w, seg.classes)
        assert {r.rgb for r in w.legend.rows} <= {tuple(c) for c in FOUR_COLORS}
        from app.render import colorize_confidence

        shown = w.current.seg
        assert shown.confidence is not None
        w.set_view("confidence")  # the real model's confidence, drawn
        np.testing.assert_array_equal(w.image_view.image_array(), colorize_confidence(shown.confidence, shown.labels))
        check_bundle_in_set(saved_bundle(qtbot, w, tmp_path / "captures"), seg.classes, w.current.seg.labels)
    finally:
        w.close()


def test_legend_forgets_hidden_classes_when_the_class_set_changes(qtbot, tmp_path):
    w = open_window(tmp_path, qtbot, Nyu13Oracle())
    try:
        cid = w.legend.rows[0].class_id
        w.legend.toggle_hidden(cid)
        assert w.classes.hidden == {cid}
        seg = w.current.seg
        from app.render import legend

        other = Segmentation(seg.frame, seg.labels, seg.timings, nyu40())
        w.legend.set_entries(legend(other.labels, other.classes), other.classes)
        assert w.classes.hidden == frozenset() and not any(r.hidden for r in w.legend.rows)
        assert [r.name for r in w.legend.rows] == [nyu40().names[r.class_id] for r in w.legend.rows]
    finally:
        w.close()


# -- headless: the real command ----------------------------------------------------------------
def test_sgnet_live_classes_nyu13_screenshot_bundle(tmp_path):
    shots = tmp_path / "shots"
    r = subprocess.run(
        [sys.executable, "-c", "from app.cli_live import main; main()", "--camera", "demo", "--headless",
         "--frames", "2", "--classes", "nyu13", "--screenshot-dir", str(shots), "--width", str(W), "--height",
         str(H), "--device", "cpu", "--save-video", str(tmp_path / "v.mp4"), "--video-view", "labels"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "shown as NYUv2-13 (13 classes)" in r.stderr
    (shot,) = shots.iterdir()
    check_bundle_in_set(shot, NYU13)
    # the video's labels view: every pixel is one of the 13 colours (give or take the codec)
    cap = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    ok, bgr = cap.read()
    assert ok
    rgb = bgr[:, :, ::-1].reshape(-1, 1, 3).astype(int)
    dist = np.abs(rgb - np.asarray(NYU13.colors)[None]).sum(-1).min(1)
    assert np.median(dist) < 12


# -- pure pieces ----------------------------------------------------------------------------------
def result_13() -> Segmentation:
    oracle = Nyu13Oracle()
    frame = oracle.demo.frame(5)
    return oracle.segment(frame)


def test_render_views_use_the_results_set():
    seg = result_13()
    np.testing.assert_array_equal(render_view(seg, "labels"), NYU13.palette[seg.labels])
    sbs = render_view(seg, "side-by-side")
    np.testing.assert_array_equal(sbs[:, W : 2 * W], NYU13.palette[seg.labels])
    full = render_view(seg, "overlay", alpha=1.0)
    has = seg.labels != NO_PREDICTION
    np.testing.assert_array_equal(full[has], NYU13.palette[seg.labels][has])


def test_ply_header_names_the_set_and_survives_odd_names(tmp_path):
    import open3d as o3d

    from app.sinks.ply import labeled_points

    odd = ClassSet("odd", "Odd", ("floor\nelement face 9", "café"), ((1, 2, 3), (4, 5, 6)))
    seg = result_13()
    pts = labeled_points(seg.frame.depth_m(), np.ones_like(seg.labels), seg.frame.intrinsics, odd.palette)
    write_ply(tmp_path / "c.ply", pts, odd)
    lines = (tmp_path / "c.ply").read_bytes().split(b"\n")
    header = [ln.decode("ascii") for ln in lines[: lines.index(b"end_header")]]
    assert "comment label 0 = floor element face 9" in header and "comment label 1 = caf?" in header
    assert "comment sgnet-live labeled point cloud (label = Odd (2 classes) id, 255 = no prediction)" in header
    cloud = o3d.io.read_point_cloud(str(tmp_path / "c.ply"))  # a real reader is not misled by the names
    assert len(cloud.points) == pts.size and (np.round(np.asarray(cloud.colors) * 255) == (4, 5, 6)).all()


def test_eval_prediction_png_in_the_scored_set(tmp_path):
    pred = np.array([[0, 12], [NO_PREDICTION, 4]], np.uint8)
    save_prediction_png(tmp_path / "p.png", pred, NYU13)
    back = cv2.imread(str(tmp_path / "p.png"))[:, :, ::-1]
    np.testing.assert_array_equal(back, NYU13.palette[pred])
    with pytest.raises(TypeError):
        save_prediction_png(tmp_path / "q.png", pred)  # no class set, no default colours
