"""--real-materials: the same rooms, with furniture, walls and floors in everyday finishes."""

from __future__ import annotations

import colorsys
import json
from pathlib import Path

import cv2
import numpy as np
from cli_runner import run_cli

from app.synth.classes import C
from app.synth.real_materials import HARD_FURNITURE, POOL_NAMES, UPHOLSTERY, WALL_NAMES
from app.synth.rooms import generate_room
from app.synth.textures import CHECKER, FABRIC, SOLID, STRIPES, TILES, WOOD

RESTYLED = HARD_FURNITURE | UPHOLSTERY | {C.WALL, C.FLOOR, C.CHAIR}


def _hue_saturation(color) -> tuple[float, float]:
    """sRGB hue and saturation of a linear colour (what a camera would show)."""
    srgb = np.clip(np.asarray(color, float), 0, 1) ** (1 / 2.2)
    h, s, _ = colorsys.rgb_to_hsv(*srgb)
    return h, s


def _rooms(n: int = 12):
    for index in range(n):
        kw = {"props": True, "wall_clutter": True}
        yield generate_room(30 + index, index, **kw), generate_room(30 + index, index, real_materials=True, **kw)


def test_the_room_is_the_same_and_only_pool_finishes_of_furniture_walls_and_floors_change():
    swapped = 0
    for plain, real in _rooms():
        assert (real.kind, real.height, real.ambient, real.items) == (plain.kind, plain.height, plain.ambient,
                                                                      plain.items)
        assert real.lights == plain.lights
        assert len(real.parts) == len(plain.parts)
        for before, after in zip(plain.parts, real.parts, strict=True):
            assert after.cls == before.cls
            np.testing.assert_array_equal(after.mesh.vertices, before.mesh.vertices)
            if after.cls not in RESTYLED:  # props, pictures, screens, books: as they were
                assert after.materials == before.materials
                continue
            names = WALL_NAMES if after.cls == C.WALL else POOL_NAMES
            assert not any(m.name in names for m in after.materials)
            for b, a in zip(before.materials, after.materials, strict=True):
                if b.name not in names:
                    assert a == b  # metal legs, glass, screens stay
                else:
                    swapped += 1
                    assert a.pattern != CHECKER and a.name.startswith("real-")
                    if after.cls in HARD_FURNITURE:
                        assert a.pattern in (WOOD, SOLID)
                    if after.cls in UPHOLSTERY:
                        assert a.pattern in (FABRIC, SOLID, STRIPES)
                    if after.cls == C.FLOOR:
                        assert a.pattern in (TILES, FABRIC)
        # a finish shared by several parts before (the four walls, a cabinet's panels) is shared after
        walls_before = {p.materials[0] for p in plain.parts if p.cls == C.WALL}
        walls_after = {p.materials[0] for p in real.parts if p.cls == C.WALL}
        assert len(walls_after) == len(walls_before)
    assert swapped > 100


def test_the_finishes_are_as_real_interiors_have_them():
    """Coloured furniture is mostly wood-toned (the pool's is any hue); walls are mostly pale."""
    warm_share, wall_value = {}, []
    for plain, real in _rooms():
        for before, after in zip(plain.parts, real.parts, strict=True):
            if after.cls in HARD_FURNITURE | UPHOLSTERY and before.materials != after.materials:
                for key, mats in (("plain", before.materials), ("real", after.materials)):
                    for m in mats:
                        h, s = _hue_saturation(m.color1)
                        if s > 0.25:
                            warm_share.setdefault(key, []).append(h < 0.15 or h > 0.95)
        wall_value += [max(p.materials[0].color1) ** (1 / 2.2) for p in real.parts if p.cls == C.WALL]
    assert np.mean(warm_share["real"]) > np.mean(warm_share["plain"]) + 0.2
    assert np.mean(np.array(wall_value) > 0.55) > 0.7


def test_without_the_flag_rooms_render_as_before():
    room = generate_room(31, 1, props=True)
    again = generate_room(31, 1, props=True, real_materials=False)
    assert [p.materials for p in room.parts] == [p.materials for p in again.parts]
    assert any(m.name in ("stripes", "checker", "fabric") for p in room.parts for m in p.materials)


def test_cli_real_materials_same_labels_other_colour(tmp_path: Path):
    args = ["-n", "4", "--size", "36x48", "--rooms", "2", "--seed", "6", "-q"]
    assert run_cli(["synth", str(tmp_path / "plain"), *args]) == 0
    assert run_cli(["synth", str(tmp_path / "real"), *args, "--real-materials"]) == 0
    meta = json.loads((tmp_path / "real" / "synth.json").read_text())
    assert meta["real_materials"] is True and "--real-materials" in meta["command"]
    assert json.loads((tmp_path / "plain" / "synth.json").read_text())["real_materials"] is False
    differs = []
    for name in sorted(p.name for p in (tmp_path / "plain" / "RGB").iterdir()):
        labels = [cv2.imread(str(tmp_path / d / "Label" / name), cv2.IMREAD_UNCHANGED) for d in ("plain", "real")]
        np.testing.assert_array_equal(labels[0], labels[1])
        # (the depth's holes and noise follow the new colours, dark finishes drop out more: not compared)
        rgb = [cv2.imread(str(tmp_path / d / "RGB" / name)).astype(int) for d in ("plain", "real")]
        differs.append(np.abs(rgb[0] - rgb[1]).mean() > 0.5)
    assert sum(differs) >= 2
