"""The class names and palette: what every overlay, legend and label PNG depends on."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import assets

_spec = importlib.util.spec_from_file_location(
    "make_palette", Path(__file__).resolve().parents[1] / "scripts" / "make_palette.py"
)
make_palette = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_palette)


def test_class_names_are_nyu40_in_prediction_order():
    names = assets.class_names()
    assert len(names) == 40 == assets.NUM_CLASSES
    assert len(set(names)) == 40
    # spot checks against the standard Gupta et al. order (spec §11)
    assert names[0] == "wall" and names[1] == "floor" and names[21] == "ceiling"
    assert names[24] == "television" and names[39] == "otherprop"


def test_palette_shape_and_reserved_rows():
    pal = assets.palette()
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    assert tuple(pal[255]) == assets.class_color(255)
    with pytest.raises(ValueError):
        pal[0, 0] = 1  # shared, read-only


def test_palette_colors_are_distinct_and_readable():
    lab = make_palette.srgb_to_lab(assets.palette()[:40].astype(np.float64))
    d = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert d.min() > 20.0, "two classes are too close to tell apart"
    no_pred = make_palette.srgb_to_lab(assets.palette()[255].astype(np.float64))
    assert np.linalg.norm(lab - no_pred, axis=-1).min() > 25.0
    assert lab[:, 0].min() > 30.0, "a class color too dark to read on an overlay"


def test_colorize_maps_each_label_to_its_color():
    labels = np.array([[0, 1, 39], [255, 5, 0]], np.uint8)
    rgb = assets.colorize(labels)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    for (r, c), cid in np.ndenumerate(labels):
        assert tuple(rgb[r, c]) == assets.class_color(int(cid))
    assert tuple(rgb[0, 0]) != tuple(rgb[0, 1])


def test_colorize_rejects_non_uint8():
    with pytest.raises(TypeError, match="uint8"):
        assets.colorize(np.zeros((2, 2), np.int64))


def test_class_color_rejects_out_of_range():
    with pytest.raises(ValueError, match="0..39"):
        assets.class_color(40)


def test_resources_are_found_through_importlib():
    assert assets.resource_path("nyu40.json").is_file()
