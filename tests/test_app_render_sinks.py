"""Rendering helpers and the file sinks (video, screenshots, PLY, palette PNG, latency log)."""

from __future__ import annotations

import csv
import json
import zlib

import cv2
import numpy as np
import pytest

import assets
from app.errors import UserError
from app.render import colorize_depth, legend, overlay, render_view, side_by_side, view_size
from app.sinks import LatencyLog, Rendered, ScreenshotSink, VideoSink, check_output_dir, check_output_file
from app.sinks.png import write_indexed_png
from app.stats import FrameRecord
from sgnet.frames import NO_PREDICTION, Intrinsics, RGBDFrame, Segmentation

NYU40 = assets.nyu40()  # these results carry the default class set


def make_seg(i: int = 0, w: int = 48, h: int = 32) -> Segmentation:
    rng = np.random.default_rng(i)
    color = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    depth = rng.integers(500, 3000, (h, w)).astype(np.uint16)
    depth[:3] = 0
    labels = (np.arange(w)[None, :] // 8 + np.arange(h)[:, None] // 8 + i).astype(np.uint8) % 40
    labels[-2:, :5] = NO_PREDICTION
    k = Intrinsics(w, h, 40.0, 41.0, (w - 1) / 2, (h - 1) / 2)
    return Segmentation(RGBDFrame(color, depth, 0.001, k, i, i * 33.3, 0), labels, {"model": 1.0})


# --- render --------------------------------------------------------------------------------


def test_overlay_blends_and_keeps_unlabeled_pixels():
    seg = make_seg()
    c, lab = seg.frame.color, seg.labels
    np.testing.assert_array_equal(overlay(c, lab, 0.0, classes=NYU40), c)
    full = overlay(c, lab, 1.0, classes=NYU40)
    pal = assets.palette()
    has = lab != NO_PREDICTION
    np.testing.assert_array_equal(full[has], pal[lab[has]])
    np.testing.assert_array_equal(full[~has], c[~has])
    half = overlay(c, lab, 0.5, classes=NYU40).astype(int)
    expect = (c.astype(int) + pal[lab].astype(int)) / 2
    assert np.abs(half[has] - expect[has]).max() <= 1
    with pytest.raises(ValueError, match="alpha"):
        overlay(c, lab, 1.5, classes=NYU40)


def test_colorize_depth_range_and_holes():
    d = np.array([[0, 200, 6000, 3000]], np.uint16)
    rgb = colorize_depth(d, 0.001)
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [0, 0, 0]
    assert rgb[0, 1].tolist() != rgb[0, 2].tolist() != rgb[0, 3].tolist()


def test_side_by_side_and_views():
    seg = make_seg()
    sbs = render_view(seg, "side-by-side")
    assert sbs.shape == (32, 144, 3) and view_size("side-by-side", 48, 32) == (144, 32)
    np.testing.assert_array_equal(sbs[:, :48], seg.frame.color)
    np.testing.assert_array_equal(render_view(seg, "labels"), assets.colorize(seg.labels))
    with pytest.raises(ValueError, match="heights"):
        side_by_side(np.zeros((2, 2, 3), np.uint8), np.zeros((3, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="unknown view"):
        render_view(seg, "nope")


def test_legend_shares_sorted_without_no_prediction():
    lab = np.array([[1, 1, 1, 7], [7, 255, 255, 255]], np.uint8)
    entries = legend(lab, NYU40)
    assert [e.class_id for e in entries] == [1, 7]
    assert [e.share for e in entries] == [3 / 8, 2 / 8]
    assert entries[0].name == assets.class_names()[1] and entries[0].rgb == tuple(assets.palette()[1])


# --- video ---------------------------------------------------------------------------------


def read_video(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


@pytest.mark.parametrize("view, width", [("overlay", 48), ("side-by-side", 144), ("labels", 48)])
def test_video_sink_writes_a_playable_mp4(tmp_path, view, width):
    path = tmp_path / "out.mp4"
    sink = VideoSink(path, view)
    sink.open(48, 32, 30.0)
    for i in range(12):
        sink.write(Rendered(make_seg(i)))
        assert not path.exists()  # only the hidden partial file exists until close
    lines = sink.close()
    frames = read_video(path)
    assert len(frames) == 12 and frames[0].shape == (32, width, 3)
    assert "12 frames" in lines[0] and not list(tmp_path.glob(".*"))
    if view == "labels":  # the colors survive encoding approximately
        expect = assets.colorize(make_seg(0).labels)[:, :, ::-1].astype(int)
        assert np.abs(frames[0].astype(int) - expect).mean() < 12


def test_video_sink_without_frames_writes_nothing(tmp_path):
    sink = VideoSink(tmp_path / "out.mp4")
    assert "not written" in sink.close()[0]
    assert list(tmp_path.iterdir()) == []


# --- screenshots ---------------------------------------------------------------------------


def read_ply(path):
    data = path.read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode()
    n = int(header.split("element vertex ")[1].split()[0])
    names = [ln.split()[-1] for ln in header.splitlines() if ln.startswith("property")]
    dtype = np.dtype([(nm, "<f4" if nm in "xyz" else "u1") for nm in names])
    return header, np.frombuffer(data[end:], dtype, count=n)


def test_screenshot_bundle_contents(tmp_path):
    seg = make_seg(3)
    sink = ScreenshotSink(tmp_path / "shots")
    sink.write(Rendered(seg))
    sink.close()
    shot = tmp_path / "shots" / "frame_000003"
    assert sorted(p.name for p in shot.iterdir()) == sorted(
        ["color.png", "overlay.png", "labels.png", "depth.png", "cloud.ply", "meta.json"]
    )
    np.testing.assert_array_equal(cv2.imread(str(shot / "color.png"))[:, :, ::-1], seg.frame.color)
    depth = cv2.imread(str(shot / "depth.png"), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16
    np.testing.assert_array_equal(depth, seg.frame.depth)
    # labels.png: an independent decoder (OpenCV) shows the palette colors of the ids
    shown = cv2.imread(str(shot / "labels.png"), cv2.IMREAD_COLOR)[:, :, ::-1]
    np.testing.assert_array_equal(shown, assets.palette()[seg.labels])
    meta = json.loads((shot / "meta.json").read_text())
    assert meta["index"] == 3 and meta["intrinsics"]["fy"] == 41.0 and meta["depth_scale"] == 0.001
    assert {c["id"] for c in meta["classes"]} == set(np.unique(seg.labels)) - {NO_PREDICTION}


def test_screenshot_bundle_with_confidence(tmp_path):
    seg = make_seg(2)
    conf = np.linspace(0.2, 1.0, seg.labels.size, dtype=np.float32).reshape(seg.labels.shape)
    conf[seg.labels == NO_PREDICTION] = 0
    seg = type(seg)(seg.frame, seg.labels, seg.timings, seg.classes, conf, keyframe=False)
    sink = ScreenshotSink(tmp_path)
    sink.write(Rendered(seg))
    sink.close()
    shot = tmp_path / "frame_000002"
    got = cv2.imread(str(shot / "confidence.png"), cv2.IMREAD_UNCHANGED)
    assert got.dtype == np.uint8 and got.shape == seg.labels.shape
    np.testing.assert_array_equal(got, np.rint(conf * 255).astype(np.uint8))
    meta = json.loads((shot / "meta.json").read_text())
    assert meta["keyframe"] is False and meta["mean_confidence"] == pytest.approx(float(conf.mean()), abs=1e-6)


def test_labeled_ply(tmp_path):
    seg = make_seg(1)
    sink = ScreenshotSink(tmp_path, every=1)
    sink.write(Rendered(seg))
    header, pts = read_ply(tmp_path / "frame_000001" / "cloud.ply")
    valid = seg.frame.depth > 0
    assert "property uchar label" in header and pts.size == valid.sum()
    v, u = np.nonzero(valid)
    np.testing.assert_array_equal(pts["label"], seg.labels[v, u])
    np.testing.assert_array_equal(pts["red"], assets.palette()[seg.labels[v, u], 0])
    k, z = seg.frame.intrinsics, seg.frame.depth_m()[v, u]
    np.testing.assert_allclose(pts["x"], (u - k.cx) * z / k.fx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pts["y"], (v - k.cy) * z / k.fy, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pts["z"], z, rtol=1e-6)
    o3d = pytest.importorskip("open3d")
    pc = o3d.io.read_point_cloud(str(tmp_path / "frame_000001" / "cloud.ply"))
    assert len(pc.points) == valid.sum()
    np.testing.assert_allclose(np.asarray(pc.colors)[:5] * 255, assets.palette()[seg.labels[v, u]][:5], atol=0.5)


def test_indexed_png_holds_the_raw_ids(tmp_path):
    ids = np.array([[0, 1, 39], [255, 7, 7]], np.uint8)
    write_indexed_png(tmp_path / "l.png", ids, assets.palette())
    data = (tmp_path / "l.png").read_bytes()
    i = data.index(b"IDAT")
    n = int.from_bytes(data[i - 4 : i], "big")
    raw = np.frombuffer(zlib.decompress(data[i + 4 : i + 4 + n]), np.uint8).reshape(2, 4)
    assert (raw[:, 0] == 0).all()  # filter byte
    np.testing.assert_array_equal(raw[:, 1:], ids)
    assert data[data.index(b"IHDR") + 4 :][8:10] == bytes([8, 3])  # 8-bit, palette color type


def test_screenshot_schedule(tmp_path):
    every = ScreenshotSink(tmp_path / "a", every=3)
    last = ScreenshotSink(tmp_path / "b")
    for i in range(7):
        r = Rendered(make_seg(i))
        every.write(r)
        last.write(r)
    every.close()
    last.close()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["frame_000000", "frame_000003", "frame_000006"]
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["frame_000006"]
    requested = ScreenshotSink(tmp_path / "c")
    requested.write(Rendered(make_seg(0)))
    requested.request()
    requested.write(Rendered(make_seg(1)))
    requested.write(Rendered(make_seg(2)))
    requested.close()
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["frame_000001", "frame_000002"]


def test_render_cache_renders_each_view_once():
    r = Rendered(make_seg())
    a = r.view("overlay")
    ms = r.ms
    assert r.view("overlay") is a and r.ms == ms and ms > 0


# --- latency log ---------------------------------------------------------------------------


def rec(i, bad=""):
    return FrameRecord(i, i * 33.3, 0.5, {"upload": 1.0, "spatial": 2.0, "model": 3.0, "postprocess": 4.0},
                       5.0, 6.0, 21.5, None, 2, bad)


def test_csv_log_is_flushed_per_row(tmp_path):
    log = LatencyLog(tmp_path / "lat.csv")
    log.write(rec(0))
    log.write(rec(1, bad="all-zero depth"))
    rows = list(csv.DictReader((tmp_path / "lat.csv").open()))  # readable before close
    assert len(rows) == 2
    assert list(rows[0]) == ["index", "device_ts_ms", "capture_wait_ms", "upload_ms", "spatial_ms", "model_ms",
                             "propagate_ms", "postprocess_ms", "keyframe", "render_ms", "sink_ms", "e2e_ms", "age_ms",
                             "queue_drops", "bad", "note"]
    assert rows[0]["propagate_ms"] == ""  # not video mode
    assert rows[0]["model_ms"] == "3.0" and rows[0]["age_ms"] == "" and rows[1]["bad"] == "all-zero depth"
    log.close()


def test_jsonl_log(tmp_path):
    log = LatencyLog(tmp_path / "lat.jsonl")
    log.write(rec(4))
    log.close()
    row = json.loads((tmp_path / "lat.jsonl").read_text().splitlines()[0])
    assert row["index"] == 4 and row["e2e_ms"] == 21.5 and row["age_ms"] is None and row["queue_drops"] == 2


def test_log_without_rows_writes_no_file(tmp_path):
    log = LatencyLog(tmp_path / "lat.csv")
    log.close()
    assert not (tmp_path / "lat.csv").exists()


# --- output checks -------------------------------------------------------------------------


def test_output_checks(tmp_path):
    assert check_output_file(tmp_path / "v.mp4", "video", (".mp4",)) == tmp_path / "v.mp4"
    with pytest.raises(UserError, match="must end in .mp4"):
        check_output_file(tmp_path / "v.avi", "video", (".mp4",))
    with pytest.raises(UserError, match="does not exist"):
        check_output_file(tmp_path / "missing" / "v.mp4", "video", (".mp4",))
    (tmp_path / "d.mp4").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        check_output_file(tmp_path / "d.mp4", "video", (".mp4",))
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        check_output_dir(tmp_path / "file", "screenshot folder")
    assert check_output_dir(tmp_path / "new" / "deeper", "screenshot folder") == tmp_path / "new" / "deeper"


def test_output_folder_below_a_file_names_the_file(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(UserError, match=r"afile is a file, not a folder"):
        check_output_dir(blocker / "shots", "screenshot folder")
