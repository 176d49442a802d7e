"""Walls as offices and classrooms have them: large used whiteboards, and notices pinned up.

In NYUv2's offices and classrooms a whiteboard often fills a third of the frame, written on,
and sheets of paper hang on every wall; both are flat against the wall, so depth cannot find
them and colour must. A model that saw only small clean boards calls them wall: the largest
single error of the stage-6 model on real frames (docs/demo-model.md). They are labelled with
their NYUv2-40 class (whiteboard, paper).

`dress_walls(furnisher, rng)` runs after a room is furnished and draws only from its own
generator, so a room with wall clutter is the same room plus these things.
"""

from __future__ import annotations

import numpy as np

from app.synth.classes import C
from app.synth.furniture import U
from app.synth.geometry import box
from app.synth.materials import hsv, printed_paper, written_board
from app.synth.parts import Builder, Item
from app.synth.textures import SOLID, Material
from app.synth.wall_items import _frame


def _aluminium(rng: np.random.Generator) -> Material:
    c = hsv(0.0, 0.0, U(rng, 0.45, 0.8))
    return Material(SOLID, c, c, scale=20.0, noise=0.03, name="aluminium")


def used_whiteboard(rng: np.random.Generator, ceiling: float, width: float) -> Item:
    """A classroom or meeting-room board, written on, in a thin frame with a pen tray."""
    b = Builder()
    w, h = width, U(rng, 1.0, 1.5)
    z0 = min(U(rng, 0.85, 1.05), ceiling - h - 0.15)
    b.add(C.WHITEBOARD, written_board(rng), box((-w / 2, 0.0, z0), (w / 2, 0.015, z0 + h)))
    frame = _aluminium(rng)
    f = U(rng, 0.012, 0.03)
    b.add(C.WHITEBOARD, frame, *_frame(-w / 2, w / 2, z0, z0 + h, f, 0.022))
    b.add(C.WHITEBOARD, frame, box((-w * 0.4, 0.0, z0 - 0.07), (w * 0.4, 0.07, z0 - 0.045)))
    return b.item("whiteboard", wall=True)


def notices(rng: np.random.Generator, ceiling: float) -> Item:
    """One to six sheets of paper (A4 either way round, or a larger flyer) pinned up in a loose cluster."""
    zc = min(U(rng, 1.1, 1.7), ceiling - 0.5)
    sheets, x = [], 0.0
    for _ in range(int(rng.integers(1, 7))):
        w, h = (0.21, 0.297) if rng.random() < 0.7 else (U(rng, 0.3, 0.6), U(rng, 0.4, 0.8))
        if rng.random() < 0.25:
            w, h = h, w
        sheets.append((x, w, zc + U(rng, -0.2, 0.2), h, U(rng, 0.002, 0.005), printed_paper(rng)))
        x += w + U(rng, 0.01, 0.15)
    b = Builder()
    for x0, w, z, h, thick, mat in sheets:  # the cluster centred on its anchor
        b.add(C.PAPER, mat, box((x0 - x / 2, 0.0, z - h / 2), (x0 + w - x / 2, thick, z + h / 2)))
    return b.item("notices", wall=True)


# room kind -> (chance of one used whiteboard, of a second one, expected clusters of notices)
_WALLS = {
    "office": (0.7, 0.2, 3.0),
    "classroom": (1.0, 0.4, 2.5),
    "kitchen": (0.1, 0.0, 1.5),
    "living": (0.05, 0.0, 0.7),
    "bedroom": (0.05, 0.0, 1.0),
    "bathroom": (0.0, 0.0, 0.3),
}


def dress_walls(r, rng: np.random.Generator) -> None:
    """Whiteboards and notices on the room's free wall space, drawn from `rng` alone (the layout
    places them with it too, and gets its own generator back afterwards)."""
    one, two, mean_notices = _WALLS.get(r.kind, (0.0, 0.0, 0.5))
    with r.layout.drawing_from(rng):
        boards = int(rng.random() < one) + int(rng.random() < two)
        for _ in range(boards):  # the widest board (1.5-3.6 m, down to 1 m) that finds free wall above the furniture
            r.layout.widest_against_wall(
                lambda w: used_whiteboard(rng, r.height, w), U(rng, 1.5, 3.6), min_width=1.0, shrink=0.75, tries=12
            )
        for _ in range(int(rng.poisson(mean_notices))):
            r.layout.against_wall(notices(rng, r.height), tries=25)


def room_wall_rng(seed: int, index: int) -> np.random.Generator:
    """The wall clutter's own generator for room `index` of `seed` (independent of the room's and the props')."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x3A11, int(index)])
