"""What the live view shows: one RGB picture per view name, with hidden / highlighted classes.

Pure numpy/OpenCV on top of `app.render`, so the window, its tests and the docs agree on
what each view is. HHA is not computed here (it costs ~100 ms on a CPU); the window passes
the latest HHA image computed off the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.render import colorize_confidence, colorize_depth, colorize_labels, overlay, side_by_side
from sgnet.frames import NO_PREDICTION, Segmentation

GUI_VIEWS: tuple[str, ...] = ("overlay", "color", "labels", "depth", "hha", "side-by-side", "confidence")
VIEW_TITLES = {
    "overlay": "Overlay",
    "color": "Color",
    "labels": "Labels",
    "confidence": "Confidence",
    "depth": "Depth",
    "hha": "HHA",
    "side-by-side": "Side by side",
}
DIM = 0.3  # brightness kept outside a highlighted class


@dataclass(frozen=True)
class ClassFilter:
    """Classes the user hid (drawn without their color) and the one highlighted (others dimmed)."""

    hidden: frozenset[int] = field(default_factory=frozenset)
    highlight: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.hidden) or self.highlight is not None

    def visible_labels(self, labels: np.ndarray) -> np.ndarray:
        """`labels` with hidden classes turned into "no prediction" (so overlays leave them uncolored)."""
        if not self.hidden:
            return labels
        lut = np.arange(256, dtype=np.uint8)
        lut[list(self.hidden)] = NO_PREDICTION
        return lut[labels]

    def apply_dim(self, image: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Dim every pixel outside the highlighted class (no-op without a highlight)."""
        if self.highlight is None:
            return image
        out = image.copy()
        other = labels != self.highlight
        out[other] = (out[other] * DIM).astype(np.uint8)
        return out


def compose(
    seg: Segmentation,
    view: str,
    alpha: float,
    classes: ClassFilter | None = None,
    hha_rgb: np.ndarray | None = None,
) -> np.ndarray:
    """The picture for `view`, in the colors of the result's class set (`seg.classes`). hha_rgb:
    HxWx3 uint8 HHA of this frame (None while it is being computed: the depth picture stands in)."""
    classes = classes or ClassFilter()
    frame = seg.frame
    labels = classes.visible_labels(seg.labels)

    def labels_rgb() -> np.ndarray:
        return colorize_labels(labels, seg.classes)  # hidden classes are "no prediction" here

    if view == "overlay":
        img = overlay(frame.color, labels, alpha, classes=seg.classes)
    elif view == "color":
        img = np.array(frame.color)
    elif view == "labels":
        img = labels_rgb()
    elif view == "confidence":
        img = colorize_confidence(seg.confidence, seg.labels)
    elif view == "depth":
        img = colorize_depth(frame.depth, frame.depth_scale)
    elif view == "hha":
        img = hha_rgb if hha_rgb is not None else colorize_depth(frame.depth, frame.depth_scale)
    elif view == "side-by-side":
        parts = [frame.color, labels_rgb(), colorize_depth(frame.depth, frame.depth_scale)]
        return side_by_side(*(classes.apply_dim(p, seg.labels) for p in parts))
    else:
        raise ValueError(f"unknown view {view!r}; choose one of {', '.join(GUI_VIEWS)}")
    return classes.apply_dim(np.ascontiguousarray(img), seg.labels)


def panels(view: str) -> int:
    """How many frame-sized panels `view` puts side by side (for mapping the mouse to a pixel)."""
    return 3 if view == "side-by-side" else 1
