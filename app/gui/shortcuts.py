"""Every keyboard shortcut of the window, in one table: the window binds them from here and
the help dialog (H / F1) and docs/gui.md list them from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    action: str  # the window's action name
    keys: tuple[str, ...]  # QKeySequence strings
    text: str  # menu / button text
    help: str  # one line for the help dialog


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("pause", ("Space",), "Pause", "Pause / resume processing"),
    Shortcut("step", ("N", "Right"), "Step", "Process one more frame (pauses first)"),
    Shortcut("back", ("Left",), "Back", "Go back one frame (demo, folders, recordings)"),
    Shortcut("first", ("Home",), "First", "Go to the first frame (demo, folders, recordings)"),
    Shortcut("screenshot", ("S",), "Screenshot", "Save a screenshot bundle of the shown frame"),
    Shortcut("window_png", ("Shift+S",), "Window PNG", "Save a PNG of the whole window"),
    Shortcut("record", ("R",), "Record", "Start / stop recording a video (overlay, labels or side by side, as shown)"),
    Shortcut("next_view", ("V",), "Next view",
             "Next view: overlay, color, labels, depth, HHA, side by side, confidence"),
    Shortcut("prev_view", ("Shift+V",), "Previous view", "Previous view"),
    Shortcut("view_1", ("1",), "Overlay", "Overlay view (1…7 pick a view directly)"),
    Shortcut("view_2", ("2",), "Color", "Color view"),
    Shortcut("view_3", ("3",), "Labels", "Labels view"),
    Shortcut("view_4", ("4",), "Depth", "Depth view"),
    Shortcut("view_5", ("5",), "HHA", "HHA view"),
    Shortcut("view_6", ("6",), "Side by side", "Side-by-side view: color, labels, depth"),
    Shortcut("view_7", ("7",), "Confidence", "Confidence view: the winning class's probability (dark = unsure)"),
    Shortcut("alpha_down", ("[",), "Less opacity", "Overlay opacity −10 %"),
    Shortcut("alpha_up", ("]",), "More opacity", "Overlay opacity +10 %"),
    Shortcut("show_all", ("A",), "Show all classes", "Show all classes again (clear hide / highlight)"),
    Shortcut("point_cloud", ("P",), "3D", "Show / hide the 3D point cloud"),
    Shortcut("export_ply", ("E",), "Export PLY", "Export the point cloud as shown (labeled PLY)"),
    Shortcut("reset_3d", ("C",), "Reset 3D view", "Reset the 3D camera (or double-click the 3D view)"),
    Shortcut("fullscreen", ("F11",), "Full screen", "Full screen on / off"),
    Shortcut("help", ("H", "F1"), "Help", "This help"),
    Shortcut("quit", ("Q", "Esc"), "Quit", "Quit (stops the pipeline, finalizes videos and logs)"),
)

MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("hover the image", "class and depth (m) of the pixel, in the status bar"),
    ("click a legend row", "highlight that class (others dimmed); click again to clear"),
    ("legend box / right-click", "hide / show that class (2D overlay and 3D view)"),
    ("drag the slider", "seek (demo, folders, recordings)"),
    ("3D: drag / wheel / double-click", "orbit / zoom / reset the camera"),
)


def by_action() -> dict[str, Shortcut]:
    return {s.action: s for s in SHORTCUTS}


def markdown_table() -> str:
    """The shortcut table for docs/gui.md."""
    lines = ["| keys | action |", "|---|---|"]
    for s in SHORTCUTS:
        keys = " / ".join(f"`{k}`" for k in s.keys)
        lines.append(f"| {keys} | {s.help} |")
    for what, does in MOUSE_HELP:
        lines.append(f"| {what} | {does} |")
    return "\n".join(lines)
