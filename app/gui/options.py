"""The window's own options (on top of `app.live.LiveOptions`) and their checks."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from app.errors import UserError
from app.gui.pointcloud import DEFAULT_MAX_DEPTH_M, DEFAULT_STRIDE
from app.gui.views import GUI_VIEWS

DEFAULT_CAPTURE_DIR = "sgnet-captures"
OFFSCREEN_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


@dataclass
class GuiOptions:
    point_cloud: bool = False  # show the 3D view from the start (P toggles it)
    pc_stride: int = DEFAULT_STRIDE  # every n-th pixel in both directions
    pc_max_depth: float = DEFAULT_MAX_DEPTH_M  # metres; farther points are left out
    exit_screenshot: str | None = None  # PNG of the whole window, saved when it closes
    capture_dir: str = DEFAULT_CAPTURE_DIR  # screenshots, recordings, PLY exports
    view: str = "overlay"
    alpha: float = 0.5


def check_gui_options(g: GuiOptions) -> None:
    from app.sinks import check_output_dir, check_output_file

    if not 1 <= g.pc_stride <= 64:
        raise UserError(f"--pc-stride must be between 1 and 64 pixels, got {g.pc_stride}")
    if not g.pc_max_depth > 0:
        raise UserError(f"--pc-max-depth must be a positive distance in metres, got {g.pc_max_depth}")
    if g.view not in GUI_VIEWS:
        raise UserError(f"view must be one of {', '.join(GUI_VIEWS)}, got {g.view!r}")
    if g.exit_screenshot is not None:
        check_output_file(g.exit_screenshot, "exit screenshot", (".png",))
    check_output_dir(g.capture_dir, "capture folder")


def check_display() -> None:
    """Creating a QApplication without a display aborts the process; say what to do instead."""
    if not sys.platform.startswith("linux"):
        return
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.split(":")[0] in OFFSCREEN_PLATFORMS:
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    raise UserError(
        "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set): run with --headless, "
        "or set QT_QPA_PLATFORM=offscreen to run the window without a screen (e.g. with --exit-screenshot)"
    )


def exit_screenshot_path(g: GuiOptions) -> Path | None:
    return None if g.exit_screenshot is None else Path(g.exit_screenshot).expanduser()
