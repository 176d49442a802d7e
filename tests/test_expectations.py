"""What a run says to expect at start (app/expectations.py): the speed line on a CPU, decided by
the measured cost, naming only ways to go faster that exist; the note about the shipped demo
weights on real frames; both said by `sgnet-live` headless and with the window.

The probe is checked on a virtual clock (a stand-in whose `segment()` costs a known time per
pixel), so what is measured, what is extrapolated and when it stops do not depend on how busy
the test machine is.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import typer

from app.expectations import (
    SLOW_FPS,
    SpeedEstimate,
    demo_weights_line,
    expectations,
    probe_sizes,
    probe_speed,
    speed_line,
)
from app.live import LiveOptions, run_live
from app.sources.base import SourceInfo, SourceOptions
from app.sources.demo import DemoSource
from assets import nyu40
from sgnet.frames import RGBDFrame, Segmentation

ROOT = Path(__file__).resolve().parents[1]
LIVE = [sys.executable, "-c", "from app.cli_live import main; main()"]


class VirtualSegmenter:
    """`segment()` advances a virtual clock by `cost(model pixels)` seconds and records the size."""

    model_name = "sgnet_r101"
    device = "cpu"
    precision = "fp32"
    weights = None
    classes = nyu40()

    def __init__(self, cost, cap: tuple[int, int] | None = None) -> None:
        self.cost, self.cap, self.now, self.sizes = cost, cap, 0.0, []

    def model_size(self, h: int, w: int) -> tuple[int, int]:
        return self.cap if self.cap and h * w > self.cap[0] * self.cap[1] else (h, w)

    def segment(self, frame: RGBDFrame) -> Segmentation:
        h, w = self.model_size(frame.height, frame.width)
        self.now += self.cost(h * w)
        self.sizes.append((frame.height, frame.width))
        return Segmentation(frame, np.zeros(frame.depth.shape, np.uint8), {}, self.classes)


def probe(seg: VirtualSegmenter, h: int, w: int, budget_s: float = 1.0) -> SpeedEstimate:
    return probe_speed(seg, h, w, budget_s, clock=lambda: seg.now)


def info(kind: str = "realsense", w: int = 640, h: int = 480) -> SourceInfo:
    return SourceInfo(kind, "test", w, h, 30.0, kind == "realsense")


# -- the probe ----------------------------------------------------------------------------------
def test_probe_sizes_keep_the_aspect_and_the_minimum_side():
    assert probe_sizes(480, 640) == [(60, 80), (120, 160), (240, 320), (480, 640)]
    assert probe_sizes(48, 64) == [(16, 16), (24, 32), (48, 64)]
    assert probe_sizes(16, 16) == [(16, 16)]


def test_a_model_that_keeps_up_is_timed_at_the_full_frame():
    seg = VirtualSegmenter(lambda px: 0.001 + px * 1e-8)
    est = probe(seg, 480, 640)
    # warm-up first (untimed), two runs at the first size, then one a size (none over its prediction)
    assert seg.sizes == [(60, 80)] * 3 + [(120, 160), (240, 320), (480, 640)]
    assert est.measured and est.timed == (480, 640) and est.pixel_ratio == 1.0
    assert est.ms == pytest.approx(1.0 + 480 * 640 * 1e-5)


def test_a_slow_model_stops_within_the_budget_and_gives_an_upper_bound():
    seg = VirtualSegmenter(lambda px: px * 2e-5)  # 60x80: 0.096 s, 120x160: 0.384 s, 240x320 would be 1.5 s
    est = probe(seg, 480, 640)
    assert seg.sizes == [(60, 80)] * 3 + [(120, 160)]
    assert not est.measured and est.timed == (120, 160) and est.pixel_ratio == 16
    assert est.ms == pytest.approx(384.0) and est.fps == pytest.approx(1000 / 384)
    spent = sum(2e-5 * h * w for h, w in seg.sizes[1:])
    assert spent <= 1.0


def test_one_stall_does_not_decide():
    """A busy CPU stalls one run now and then: the best of two runs a size is what counts."""
    stalls = iter([0.0, 0.4, 0.0, 0.0, 0.3] + [0.0] * 20)  # stalls in the first timed run and at 240x320
    seg = VirtualSegmenter(lambda px: px * 1e-8 + next(stalls))
    est = probe(seg, 480, 640)
    assert est.measured and est.ms == pytest.approx(480 * 640 * 1e-5)
    assert seg.sizes == [(60, 80)] * 3 + [(120, 160)] + [(240, 320)] * 2 + [(480, 640)]  # the stalled size twice


def test_a_capped_input_size_is_measured_at_the_full_frame_for_the_cost_of_the_cap():
    seg = VirtualSegmenter(lambda px: px * 1e-6, cap=(240, 320))  # the light model's default input size
    est = probe(seg, 480, 640)
    assert est.measured and est.ms == pytest.approx(240 * 320 * 1e-3)


# -- the speed line -------------------------------------------------------------------------------
def live_options() -> set[str]:
    from app.cli_live import app

    return {opt for p in typer.main.get_command(app).params for opt in p.opts}


def named_options(line: str) -> set[str]:
    return {w.strip("(),;") for w in line.split() if w.startswith("--")}


def test_no_line_when_the_rate_is_fine():
    est = SpeedEstimate((480, 640), (480, 640), 1000 / (SLOW_FPS + 1), 1.0)
    assert speed_line("sgnet_r101", est, "realsense", True, False) is None


def test_the_light_model_measured_slow_is_told_only_about_a_gpu():
    est = SpeedEstimate((240, 320), (240, 320), 200.0, 1.0)
    line = speed_line("sgnet_lite", est, "demo", False, False)
    assert line == ("expect about 5.0 frames/s on this CPU: sgnet_lite takes ~200 ms per 320x240 frame; "
                    "faster: a CUDA GPU (--device cuda)")


def test_a_large_model_on_a_camera_hears_every_way_that_exists():
    est = SpeedEstimate((480, 640), (120, 160), 384.0, 16.0)
    line = speed_line("sgnet_r101", est, "realsense", True, False)
    assert line.startswith("expect at most 2.6 frames/s on this CPU: sgnet_r101 took 384 ms for a 160x120 test "
                           "frame (the 640x480 frames have 16x its pixels); faster: a CUDA GPU (--device cuda), ")
    assert "the light model (--model sgnet_lite;" in line and "smaller frames (--width 424 --height 240)" in line
    assert named_options(line) <= live_options()  # no option that does not exist (no --input-size, ...)
    assert "--input-size" not in live_options()
    # a recording cannot be resized; a present GPU is named as such
    rec = speed_line("sgnet_r101", est, "recording", True, True)
    assert "--width" not in rec and "--device cuda (a CUDA GPU is present)" in rec
    assert named_options(rec) <= live_options()


# -- the demo-weights note ------------------------------------------------------------------------
def test_demo_weights_note_only_for_the_shipped_weights_on_real_frames():
    assert demo_weights_line(True, "demo") is None and demo_weights_line(False, "realsense") is None
    for kind in ("realsense", "recording", "folder"):
        line = demo_weights_line(True, kind)
        assert "trained on rendered rooms only" in line and "--weights 'SGNet(Res50).pth.tar'" in line
        assert "sgnet train --data DIR" in line
        assert line.endswith("with --no-fill-holes they read isolated depth holes as windows and clutter "
                             "(docs/demo-model.md)")
        assert "fill-holes" not in demo_weights_line(True, kind, fills_holes=True)
    assert "## Official SGNet weights" in (ROOT / "README.md").read_text()  # where the note points


def test_expectations_measure_nothing_on_a_gpu():
    seg = VirtualSegmenter(lambda px: 1.0)
    seg.device = "cuda:0"
    seg.loaded = SimpleNamespace(shipped=True)
    found = expectations(seg, info("recording"))
    assert found.speed is None and seg.sizes == []
    assert len(found.lines) == 1 and "rendered rooms only" in found.lines[0]


# -- said by the real commands --------------------------------------------------------------------
class SlowStandIn(VirtualSegmenter):
    """Really sleeps: 40 us per pixel (64x48: ~120 ms a frame, about 8 frames/s)."""

    def segment(self, frame: RGBDFrame) -> Segmentation:
        time.sleep(4e-5 * frame.height * frame.width)
        return super().segment(frame)


def test_run_live_says_the_speed_line_after_the_model_line(monkeypatch, capsys):
    seg = SlowStandIn(lambda px: 0.0)
    seg.weights = "SGNet.pth.tar"
    seg.loaded = SimpleNamespace(shipped=False, summary="weights SGNet.pth.tar: official SGNet (sgnet_r101)")
    monkeypatch.setattr("app.live.load_segmenter", lambda o, kind=None: seg)
    opts = LiveOptions(camera="demo", weights=None, frames=1, source=SourceOptions(width=64, height=48))
    assert run_live(opts) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("sgnet-live: ")]
    i = next(i for i, ln in enumerate(err) if ln.startswith("sgnet-live: model: sgnet_r101"))
    assert err[i + 1].startswith("sgnet-live: expect about ")
    assert "sgnet_r101 takes ~" in err[i + 1] and "per 64x48 frame" in err[i + 1]
    assert "--model sgnet_lite" in err[i + 1]


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory) -> Path:
    """Three frames as a folder of NAME_color.png + NAME_depth.png (millimetres): not the demo clip."""
    folder = tmp_path_factory.mktemp("frames")
    demo = DemoSource(SourceOptions(width=64, height=48))
    for i in range(3):
        color, depth = demo.image(i * 40)
        cv2.imwrite(str(folder / f"f{i}_color.png"), np.ascontiguousarray(color[:, :, ::-1]))
        cv2.imwrite(str(folder / f"f{i}_depth.png"), depth)
    return folder


@pytest.mark.parametrize("window", [False, True], ids=["headless", "window"])
def test_shipped_weights_on_real_frames_get_the_note(real_folder, tmp_path, window):
    args = ["--camera", str(real_folder), "--frames", "1", "--device", "cpu"]
    if window:
        args += ["--exit-screenshot", str(tmp_path / "w.png")]
    else:
        args += ["--headless"]
    r = subprocess.run(LIVE + args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    notes = [ln for ln in r.stderr.splitlines() if "trained on rendered rooms only" in ln]
    assert len(notes) == 1 and notes[0].startswith("sgnet-live: note: the shipped demo weights")
    if window:
        return
    # the demo clip is what the weights were trained on: no note there
    r = subprocess.run(LIVE + ["--camera", "demo", "--headless", "--frames", "1", "--width", "64", "--height", "48",
                               "--device", "cpu"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "rendered rooms only" not in r.stderr
