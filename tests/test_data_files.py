"""sgnet.data.files: label PNGs read as class ids (palette PNGs as their indices, whatever the
bit depth and row filters), depth from .npy in metres or raw units, one line per bad file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from data_layouts import palette, write_packed_palette_png, write_palette_png

from sgnet.data.files import FileReadError, read_depth, read_label
from sgnet.errors import DatasetError


def test_palette_label_png_reads_as_indices_not_colours(tmp_path):
    """Issue 19: an 8-bit palette label (and the app's own labels.png screenshot) was read as
    3 channels, "expected a single-channel class-id PNG"."""
    ids = (np.arange(24 * 32).reshape(24, 32) % 41).astype(np.uint8)
    ids[0, 0] = 255
    write_palette_png(tmp_path / "labels.png", ids)
    as_opencv_sees_it = cv2.imread(str(tmp_path / "labels.png"), cv2.IMREAD_UNCHANGED)
    assert as_opencv_sees_it.ndim == 3  # the colours: what the old reader refused
    got = read_label(tmp_path / "labels.png")
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, ids)


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_packed_and_filtered_palette_pngs(tmp_path, bits):
    ids = (np.arange(7 * 11).reshape(7, 11) * 7 % (2**bits)).astype(np.uint8)
    write_packed_palette_png(tmp_path / "l.png", ids, bits)
    np.testing.assert_array_equal(read_label(tmp_path / "l.png"), ids)


def test_grey_8_and_16_bit_labels_are_read_as_stored(tmp_path):
    ids8 = np.array([[0, 1, 40]], np.uint8)
    ids16 = np.array([[0, 1163, 40000]], np.uint16)
    cv2.imwrite(str(tmp_path / "a.png"), ids8)
    cv2.imwrite(str(tmp_path / "b.png"), ids16)
    np.testing.assert_array_equal(read_label(tmp_path / "a.png"), ids8)
    got = read_label(tmp_path / "b.png")
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, ids16)


def test_colour_rendered_label_is_one_clear_error(tmp_path):
    rgb = palette()[(np.arange(12).reshape(3, 4) % 5)]
    cv2.imwrite(str(tmp_path / "c.png"), rgb)
    with pytest.raises(DatasetError, match=r"c.png is a 3-channel colour image; labels must be class ids"):
        read_label(tmp_path / "c.png")


def test_npy_depth_metres_and_raw_units(tmp_path):
    m = np.array([[0.0, 1.5, 2.25]], np.float32)
    np.save(tmp_path / "m.npy", m)
    np.testing.assert_array_equal(read_depth(tmp_path / "m.npy", 0.001), [[0, 1500, 2250]])
    np.testing.assert_array_equal(read_depth(tmp_path / "m.npy", 0.0002), [[0, 7500, 11250]])
    np.save(tmp_path / "u.npy", np.array([[0, 1234]], np.uint16))
    np.testing.assert_array_equal(read_depth(tmp_path / "u.npy", 0.001), [[0, 1234]])


def test_float_millimetres_are_not_clipped_silently(tmp_path):
    np.save(tmp_path / "mm.npy", np.full((4, 4), 2500.0, np.float32))  # millimetres saved as float
    with pytest.raises(DatasetError, match="float depth must be metres"):
        read_depth(tmp_path / "mm.npy", 0.001)


def test_file_errors_name_the_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(FileReadError) as e:
        read_label(tmp_path / "empty.png")
    assert str(e.value) == f"{tmp_path / 'empty.png'} is empty (0 bytes)" and e.value.what == " is empty (0 bytes)"
    with pytest.raises(FileReadError, match=r"^cannot read .*gone.png: no such file$"):
        read_depth(tmp_path / "gone.png", 0.001)
