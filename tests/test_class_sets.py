"""Class sets: built-in and file sets, mappings between them, merging at inference, and the set
travelling in the weights' metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

import sgnet
from assets.classes import ClassSet, ClassSetError, default_class_set, get_class_set
from sgnet.classes import merge_matrix, merge_probabilities
from sgnet.frames import Intrinsics, RGBDFrame
from sgnet.weights import read_checkpoint, save_weights

# The Couprie / Handa NYU40 -> 13 table as published (1-based ids, 0 = unlabelled), kept here
# as numbers so the name-based map in assets/nyu13.json is checked against an independent source.
NYU40_TO_13 = [0, 12, 5, 6, 1, 4, 9, 10, 12, 13, 6, 8, 6, 13, 10, 6, 13, 6, 7, 7, 5, 7, 3, 2, 6, 11, 7, 7, 7, 7, 7,
               7, 6, 7, 7, 7, 7, 7, 7, 6, 7]


def test_builtin_nyu13_mapping_is_the_published_table():
    table = get_class_set("nyu13").lookup_from(get_class_set("nyu40"))
    assert table[:40].tolist() == [i - 1 for i in NYU40_TO_13[1:]]
    assert table[255] == 255 and (table[40:] == 255).all()


def test_sunrgbd37_is_nyu40_without_the_three_other_classes():
    nyu40, sun = get_class_set("nyu40"), get_class_set("sunrgbd37")
    table = sun.lookup_from(nyu40)
    assert table[:37].tolist() == list(range(37)) and (table[37:40] == 255).all()
    assert sun.names == nyu40.names[:37] and sun.colors == nyu40.colors[:37]


def test_a_custom_file_maps_by_name_and_round_trips_through_json(tmp_path):
    spec = {"name": "Rooms", "classes": ["floor", "wall", "furniture", "other"],
            "colors": [[10, 20, 30], [40, 50, 60], [70, 80, 90], [1, 2, 3]],
            "map_from": "nyu40", "map": {"floor": "floor", "floor mat": "floor", "wall": "wall", "door": "wall",
                                         "cabinet": "furniture", "table": "furniture", "otherprop": "other"}}
    path = tmp_path / "rooms.json"
    path.write_text(json.dumps(spec))
    rooms = get_class_set(str(path))
    assert (rooms.key, rooms.title, rooms.num_classes) == ("rooms", "Rooms", 4)
    table = rooms.lookup_from(get_class_set("nyu40"))
    assert table[[1, 19, 0, 7, 2, 6, 39, 4]].tolist() == [0, 0, 1, 1, 2, 2, 3, 255]  # chair (4): no place
    assert ClassSet.from_json(rooms.to_json()) == rooms
    assert rooms.colorize(np.array([[2, 255]], np.uint8)).tolist() == [[[70, 80, 90], [0, 0, 0]]]


def test_a_subset_of_names_maps_without_a_map_and_anything_else_is_refused():
    nyu40 = get_class_set("nyu40")
    few = ClassSet("few", "Few", ("floor", "wall"), ((1, 1, 1), (2, 2, 2)))
    assert few.lookup_from(nyu40)[[0, 1, 2]].tolist() == [1, 0, 255]
    with pytest.raises(ClassSetError, match="cannot map NYUv2-13 .* onto NYUv2-40"):
        nyu40.lookup_from(get_class_set("nyu13"))


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"classes": []}, "non-empty list"),
        ({"classes": ["a", "a"]}, "named twice"),
        ({"classes": ["a", "b"], "colors": [[1, 2, 3]]}, "1 colours for 2 classes"),
        ({"classes": ["a"], "colors": [[1, 2, 300]]}, "0..255"),
        ({"classes": ["a"], "map": {"wall": "a"}}, "needs 'map_from'"),
        ({"classes": ["a"], "map_from": "nyu40", "map": {"wall": "b"}}, "does not have: b"),
    ],
)
def test_broken_class_set_files_are_one_line(tmp_path, spec, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(ClassSetError, match=message):
        get_class_set(path)


def test_unknown_names_missing_files_and_bad_json_are_one_line(tmp_path):
    with pytest.raises(ClassSetError, match="unknown class set 'nyu12'"):
        get_class_set("nyu12")
    with pytest.raises(ClassSetError, match="not found"):
        get_class_set(tmp_path / "none.json")
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(ClassSetError, match="not valid JSON"):
        get_class_set(tmp_path / "x.json")


def test_merging_sums_probabilities_before_the_argmax():
    """cabinet 0.3 + bookshelf 0.3 beat wall 0.4: NYU40's argmax says wall, NYUv2-13 furniture."""
    nyu40, nyu13 = get_class_set("nyu40"), get_class_set("nyu13")
    probs = torch.full((1, 40, 1, 1), 1e-6)
    probs[0, [2, 9, 0], 0, 0] = torch.tensor([0.3, 0.3, 0.4])
    logits = probs.log()
    merged = merge_probabilities(logits, merge_matrix(nyu40, nyu13))
    assert int(logits.argmax(1)) == 0  # wall
    assert nyu13.names[int(merged.argmax(1))] == "furniture"
    assert float(merged.sum()) == pytest.approx(1.0, abs=1e-4)
    assert merge_matrix(nyu40, nyu40) is None


class FixedLogits(nn.Module):
    """Every pixel: cabinet 0.3, bookshelf 0.3, wall 0.4 (as log-probabilities)."""

    num_classes = 40

    def forward(self, image, xyz):
        n, _, h, w = image.shape
        p = torch.full((n, 40, h, w), 1e-6)
        p[:, 2], p[:, 9], p[:, 0] = 0.3, 0.3, 0.4
        return p.log()


def _frame() -> RGBDFrame:
    return RGBDFrame(np.zeros((12, 16, 3), np.uint8), np.full((12, 16), 1000, np.uint16), 0.001,
                     Intrinsics(16, 12, 15.0, 15.0, 7.5, 5.5), 0)


def test_segmenter_outputs_the_wanted_class_set():
    own = sgnet.Segmenter(FixedLogits(), device="cpu").segment(_frame())
    assert own.classes.key == "nyu40" and (own.labels == 0).all()
    seg = sgnet.Segmenter(FixedLogits(), device="cpu", classes="nyu13")
    out = seg.segment(_frame())
    assert out.classes.key == "nyu13" and seg.class_names == get_class_set("nyu13").names
    assert (out.labels == get_class_set("nyu13").names.index("furniture")).all()
    with pytest.raises(sgnet.SGNetUserError, match="cannot map"):
        sgnet.Segmenter(sgnet.create_model("sgnet_lite", num_classes=13), device="cpu", classes="nyu40")


def test_the_class_set_travels_in_the_weights(tmp_path):
    rooms = ClassSet("rooms", "Rooms", ("floor", "wall", "thing"), ((1, 2, 3), (4, 5, 6), (7, 8, 9)))
    net = sgnet.create_model("sgnet_lite", num_classes=3)
    net.class_set = rooms
    for name in ("w.safetensors", "w.pt"):
        path = save_weights(net, tmp_path / name)
        assert read_checkpoint(path).classes == rooms
        seg = sgnet.Segmenter(None, weights=path, device="cpu")
        assert seg.model_name == "sgnet_lite" and seg.classes == rooms
        assert seg.segment(_frame()).classes == rooms
    plain = save_weights(sgnet.create_model("sgnet_lite", num_classes=37), tmp_path / "sun.safetensors")
    assert read_checkpoint(plain).classes == default_class_set(37) == get_class_set("sunrgbd37")


def test_shipped_weights_by_default_random_only_when_asked():
    lite = sgnet.Segmenter("sgnet_lite", device="cpu")
    assert lite.weights is not None and lite.weights.name == "sgnet_lite_synth.safetensors"
    with pytest.raises(sgnet.SGNetUserError, match="sgnet_r50 has no shipped weights"):
        sgnet.Segmenter("sgnet_r50", device="cpu")
    rand = sgnet.Segmenter("sgnet_r18", device="cpu", random_weights=True, num_classes=13)
    assert rand.weights is None and rand.classes.key == "nyu13"


def test_a_mismatched_model_names_the_model_the_file_fits(tmp_path):
    path = save_weights(sgnet.create_model("sgnet_r18", num_classes=13), tmp_path / "r18.safetensors")
    with pytest.raises(sgnet.WeightsMismatchError, match=r"these weights fit sgnet_r18: use that model"):
        sgnet.Segmenter("sgnet_lite", weights=path, device="cpu")
    torch.save({"conv.weight": torch.zeros(3, 3, 1, 1)}, tmp_path / "odd.pth")
    with pytest.raises(sgnet.WeightsMismatchError, match="fits none of the registered models"):
        sgnet.Segmenter(None, weights=tmp_path / "odd.pth", device="cpu")
