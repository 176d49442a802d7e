"""Wall-mounted items: doors, windows (with blinds or curtains), pictures, whiteboards, mirrors,
shelves, towels, upper cabinets, and ceiling lamps.

Local frame of a wall item: x along the wall, y out of the wall into the room (the wall plane
is y = 0), z the absolute height above the floor. Thin boxes that stand slightly proud of
the wall, as in real rooms, so that depth sees an edge.
"""

from __future__ import annotations

import numpy as np

from app.synth.classes import C
from app.synth.furniture import U, books_pile, small_box, television, vase
from app.synth.geometry import Mesh, box, box_c, frustum, rot_x, wavy_panel
from app.synth.materials import (
    artwork,
    light_solid,
    metal,
    mirror_glass,
    random_material,
    sky,
)
from app.synth.parts import Builder, Item, Surface


def _frame(x0: float, x1: float, z0: float, z1: float, width: float, depth: float, y0: float = 0.0) -> list[Mesh]:
    """Four bars around the rectangle [x0, x1] x [z0, z1]."""
    return [
        box((x0 - width, y0, z0 - width), (x1 + width, y0 + depth, z0)),
        box((x0 - width, y0, z1), (x1 + width, y0 + depth, z1 + width)),
        box((x0 - width, y0, z0), (x0, y0 + depth, z1)),
        box((x1, y0, z0), (x1 + width, y0 + depth, z1)),
    ]


def door(rng: np.random.Generator, ceiling: float) -> Item:
    b = Builder()
    w, h = U(rng, 0.78, 0.95), min(U(rng, 1.98, 2.12), ceiling - 0.15)
    t = U(rng, 0.015, 0.04)
    slab = random_material(rng) if rng.random() < 0.7 else light_solid(rng, 0.5, 0.95)
    frame_mat = slab if rng.random() < 0.5 else light_solid(rng, 0.5, 0.95)
    b.add(C.DOOR, slab, box((-w / 2, 0.0, 0.0), (w / 2, t, h)))
    fw, fd = U(rng, 0.04, 0.09), t + U(rng, 0.005, 0.02)
    b.add(
        C.DOOR,
        frame_mat,
        box((-w / 2 - fw, 0.0, h), (w / 2 + fw, fd, h + fw)),
        box((-w / 2 - fw, 0.0, 0.0), (-w / 2, fd, h)),
        box((w / 2, 0.0, 0.0), (w / 2 + fw, fd, h)),
    )
    if rng.random() < 0.5:  # panels
        for z0, z1 in ((0.15, h * 0.45), (h * 0.52, h - 0.15)):
            b.add(C.DOOR, slab, box((-w / 2 + 0.1, t, z0), (w / 2 - 0.1, t + 0.008, z1)))
    side = 1 if rng.random() < 0.5 else -1
    hx = side * (w / 2 - 0.07)
    handle = metal(rng)
    b.add(
        C.DOOR,
        handle,
        box_c((hx, t + 0.03, 1.0), (0.02, 0.06, 0.02)),
        box_c((hx - side * 0.05, t + 0.06, 1.0), (0.12, 0.02, 0.02)),
    )
    # swinging area in front of the door stays clear of furniture
    return b.item("door", wall=True, keepout=[((-w / 2 - 0.05, 0.0, 0.0), (w / 2 + 0.05, U(rng, 0.7, 0.95), h))])


def window(rng: np.random.Generator, ceiling: float) -> Item:
    """Frame, glass (bright or dark outside), mullions, sill; sometimes blinds or curtains."""
    b = Builder()
    w = U(rng, 0.6, 1.8)
    sill = U(rng, 0.65, 1.05)
    top = min(sill + U(rng, 0.9, 1.6), ceiling - U(rng, 0.15, 0.35))
    frame_mat = light_solid(rng, 0.6, 0.95) if rng.random() < 0.6 else random_material(rng)
    fw, fd = U(rng, 0.04, 0.08), U(rng, 0.03, 0.06)
    b.add(C.WINDOW, sky(rng), box((-w / 2, 0.0, sill), (w / 2, 0.008, top)))
    b.add(C.WINDOW, frame_mat, *_frame(-w / 2, w / 2, sill, top, fw, fd))
    bars = []
    n_bars = int(rng.choice([0, 1, 1, 2]))
    for k in range(n_bars):
        x = -w / 2 + w * (k + 1) / (n_bars + 1)
        bars.append(box((x - 0.02, 0.0, sill), (x + 0.02, fd * 0.8, top)))
    if rng.random() < 0.4:
        z = sill + (top - sill) * U(rng, 0.55, 0.75)
        bars.append(box((-w / 2, 0.0, z - 0.02), (w / 2, fd * 0.8, z + 0.02)))
    if bars:
        b.add(C.WINDOW, frame_mat, *bars)
    if rng.random() < 0.6:  # sill board
        b.add(
            C.WINDOW,
            frame_mat,
            box((-w / 2 - fw - 0.03, 0.0, sill - fw - 0.03), (w / 2 + fw + 0.03, fd + U(rng, 0.05, 0.15), sill - fw)),
        )
    y_front = fd + 0.01
    dressing = rng.random()
    if dressing < 0.3:  # blinds: horizontal slats, partly pulled up
        slat_mat = random_material(rng, ("solid", "wood")) if rng.random() < 0.5 else light_solid(rng, 0.4, 0.95)
        pitch = U(rng, 0.025, 0.045)
        cover = U(rng, 0.3, 1.0) if rng.random() < 0.5 else 1.0
        bottom = top - (top - sill) * cover
        tilt = U(rng, 0.75, 1.45) * (1 if rng.random() < 0.5 else -1)  # mostly closed, as blinds usually are
        slats = []
        z = top - pitch / 2
        while z > bottom:
            slat = box((-w / 2 - 0.02, -0.025, -0.0015), (w / 2 + 0.02, 0.025, 0.0015))
            slats.append(slat.transformed(rot_x(tilt), (0.0, y_front + 0.025, z)))
            z -= pitch
        slats.append(box((-w / 2 - 0.02, y_front, top), (w / 2 + 0.02, y_front + 0.05, top + 0.05)))  # headrail
        slats.append(box((-w / 2 - 0.02, y_front + 0.01, bottom - 0.02), (w / 2 + 0.02, y_front + 0.04, bottom)))
        b.add(C.BLINDS, slat_mat, *slats)
    elif dressing < 0.65:  # curtains on both sides, to the floor or to the sill
        cmat = random_material(rng, ("fabric", "fabric", "stripes", "checker", "solid"))
        long = rng.random() < 0.6
        z0 = 0.02 if long else sill - U(rng, 0.05, 0.2)
        rod = min(top + U(rng, 0.05, 0.2), ceiling - 0.05)
        z1 = rod - 0.03
        b.add(
            C.CURTAIN,
            metal(rng),
            box((-w / 2 - 0.3, y_front + 0.05, rod - 0.015), (w / 2 + 0.3, y_front + 0.08, rod + 0.015)),
        )
        closed = U(rng, 0.0, 0.45)
        for side in (-1, 1):
            pw = U(rng, 0.25, 0.45) + closed * w
            if rng.random() < 0.15:
                continue
            x_out = side * (w / 2 + U(rng, 0.1, 0.25))
            pw = min(pw, abs(x_out) - 0.01)  # the two panels may meet in the middle, not cross
            cx = x_out - side * pw / 2
            panel = wavy_panel(
                pw, z1 - z0, U(rng, 0.05, 0.1), pw / U(rng, 0.08, 0.15), segments=max(24, int(pw * 60)), z0=z0
            )
            b.add(C.CURTAIN, cmat, panel.transformed(None, (cx, y_front + 0.03, 0.0)))
    return b.item("window", wall=True)


def picture(rng: np.random.Generator, ceiling: float) -> Item:
    b = Builder()
    w, h = U(rng, 0.25, 1.1), U(rng, 0.2, 0.85)
    zc = min(U(rng, 1.25, 1.75), ceiling - h / 2 - 0.2)
    fw, fd = U(rng, 0.01, 0.06), U(rng, 0.015, 0.045)
    b.add(C.PICTURE, artwork(rng), box((-w / 2, 0.0, zc - h / 2), (w / 2, fd - 0.005, zc + h / 2)))
    if rng.random() < 0.85:
        b.add(
            C.PICTURE,
            random_material(rng) if rng.random() < 0.5 else metal(rng),
            *_frame(-w / 2, w / 2, zc - h / 2, zc + h / 2, fw, fd),
        )
    return b.item("picture", wall=True)


def whiteboard(rng: np.random.Generator, ceiling: float) -> Item:
    b = Builder()
    w, h = U(rng, 1.2, 2.4), U(rng, 0.9, 1.2)
    z0 = min(U(rng, 0.8, 1.0), ceiling - h - 0.2)
    board = light_solid(rng, 0.82, 0.97)
    b.add(C.WHITEBOARD, board, box((-w / 2, 0.0, z0), (w / 2, 0.015, z0 + h)))
    frame = metal(rng)
    b.add(C.WHITEBOARD, frame, *_frame(-w / 2, w / 2, z0, z0 + h, 0.02, 0.025))
    b.add(C.WHITEBOARD, frame, box((-w * 0.35, 0.0, z0 - 0.06), (w * 0.35, 0.07, z0 - 0.04)))
    return b.item("whiteboard", wall=True)


def mirror(rng: np.random.Generator, ceiling: float, z0: float | None = None, width: float | None = None) -> Item:
    b = Builder()
    w = width or U(rng, 0.4, 1.0)
    h = U(rng, 0.6, 1.1) if z0 is not None else U(rng, 0.6, 1.6)
    z0 = z0 if z0 is not None else U(rng, 0.3, 1.1)
    h = min(h, ceiling - z0 - 0.15)
    b.add(C.MIRROR, mirror_glass(rng), box((-w / 2, 0.0, z0), (w / 2, 0.012, z0 + h)))
    if rng.random() < 0.6:
        b.add(
            C.MIRROR,
            random_material(rng) if rng.random() < 0.5 else metal(rng),
            *_frame(-w / 2, w / 2, z0, z0 + h, 0.03, 0.025),
        )
    return b.item("mirror", wall=True)


def wall_shelves(rng: np.random.Generator, ceiling: float) -> Item:
    """One to three boards on brackets (class shelves) with books, boxes and ornaments on them."""
    b = Builder()
    mat = random_material(rng)
    w, d, t = U(rng, 0.6, 1.3), U(rng, 0.18, 0.3), U(rng, 0.018, 0.035)
    n = int(rng.choice([1, 2, 2, 3]))
    gap = U(rng, 0.3, 0.4)
    z0 = min(U(rng, 1.0, 1.5), ceiling - 0.3 - (n - 1) * gap)
    brackets = metal(rng)
    surfaces = []
    for k in range(n):
        z = z0 + k * gap
        b.add(C.SHELVES, mat, box((-w / 2, 0.0, z - t), (w / 2, d, z)))
        for x in (-w / 2 + 0.1, w / 2 - 0.1):
            b.add(C.SHELVES, brackets, box((x - 0.01, 0.0, z - t - 0.12), (x + 0.01, d * 0.8, z - t)))
        surfaces.append(Surface(-w / 2 + 0.04, w / 2 - 0.04, 0.03, d - 0.03, z, gap - t - 0.03 if k < n - 1 else 0.35))
    item = b.item("wall-shelves", wall=True, surfaces=surfaces)
    return item


def towel(rng: np.random.Generator, ceiling: float) -> Item:
    b = Builder()
    w, h = U(rng, 0.3, 0.6), U(rng, 0.4, 0.75)
    top = min(U(rng, 1.0, 1.6), ceiling - 0.3)
    bar = metal(rng)
    b.add(C.TOWEL, bar, box((-w / 2 - 0.05, 0.0, top - 0.015), (w / 2 + 0.05, 0.08, top + 0.015)))
    mat = random_material(rng, ("fabric", "stripes", "solid"))
    panel = wavy_panel(w, h, U(rng, 0.02, 0.04), U(rng, 1.0, 3.0), segments=24, z0=top - h, thickness=0.015)
    b.add(C.TOWEL, mat, panel.transformed(None, (0.0, 0.025, 0.0)))
    return b.item("towel", wall=True)


def upper_cabinets(rng: np.random.Generator, ceiling: float, width: float) -> Item:
    """Kitchen wall cabinets above a counter (class cabinet)."""
    b = Builder()
    mat = random_material(rng) if rng.random() < 0.6 else light_solid(rng, 0.5, 0.95)
    d = U(rng, 0.3, 0.36)
    z0 = U(rng, 1.4, 1.55)
    z1 = min(z0 + U(rng, 0.6, 0.8), ceiling - 0.02)
    b.add(C.CABINET, mat, box((-width / 2, 0.0, z0), (width / 2, d, z1)))
    n = max(1, int(round(width / U(rng, 0.4, 0.6))))
    dw = width / n
    handle = metal(rng)
    for k in range(n):
        x0 = -width / 2 + k * dw
        b.add(C.CABINET, mat, box((x0 + 0.003, d, z0 + 0.01), (x0 + dw - 0.003, d + 0.018, z1 - 0.01)))
        hx = x0 + dw - 0.05 if k % 2 == 0 else x0 + 0.05
        b.add(C.CABINET, handle, box_c((hx, d + 0.03, z0 + 0.1), (0.02, 0.02, 0.12)))
    return b.item("upper-cabinets", wall=True)


def wall_tv(rng: np.random.Generator, ceiling: float) -> Item:
    tv = television(rng, stand=False)
    lo, hi = tv.bounds()
    z = min(U(rng, 1.0, 1.4), ceiling - (hi[2] - lo[2]) - 0.2)
    for p in tv.parts:
        p.mesh = p.mesh.transformed(None, (0.0, 0.0, z))
    tv.wall = True
    return tv


def ceiling_lamp(rng: np.random.Generator, ceiling: float) -> Item:
    """A flush disc or a pendant shade hanging from the ceiling (class lamp). Local origin under it."""
    b = Builder()
    if rng.random() < 0.55:
        r, h = U(rng, 0.15, 0.3), U(rng, 0.04, 0.12)
        b.add(C.LAMP, light_solid(rng, 0.75, 0.98), frustum(r, r * 0.9, h, base=(0, 0, ceiling - h), segments=24))
    else:
        drop = U(rng, 0.15, 0.45)
        rb, rt, sh = U(rng, 0.12, 0.25), U(rng, 0.04, 0.1), U(rng, 0.12, 0.25)
        b.add(
            C.LAMP,
            metal(rng),
            frustum(0.005, 0.005, drop, base=(0, 0, ceiling - drop), segments=6),
            frustum(0.06, 0.06, 0.02, base=(0, 0, ceiling - 0.02), segments=10),
        )
        m = random_material(rng, ("solid", "fabric")) if rng.random() < 0.5 else metal(rng)
        b.add(C.LAMP, m, frustum(rb, rt, sh, base=(0, 0, ceiling - drop - sh * 0.6), segments=20, caps=False))
    return b.item("ceiling-lamp")


def shelf_filler(rng: np.random.Generator) -> Item:
    """Something to put on a shelf board."""
    k = rng.random()
    if k < 0.45:
        return books_pile(rng) if rng.random() < 0.3 else upright_books(rng)
    if k < 0.75:
        return small_box(rng)
    return vase(rng)


def upright_books(rng: np.random.Generator) -> Item:
    b = Builder()
    pieces = []
    x = 0.0
    d = U(rng, 0.12, 0.2)
    for _ in range(int(rng.integers(3, 12))):
        bw, bh = U(rng, 0.015, 0.05), U(rng, 0.15, 0.26)
        pieces.append((box((x, -d / 2, 0.0), (x + bw, d / 2, bh)), random_material(rng, ("solid", "stripes"))))
        x += bw + U(rng, 0.0, 0.003)
    for i, (m, mat) in enumerate(pieces):
        pieces[i] = (m.transformed(None, (-x / 2, 0.0, 0.0)), mat)
    b.add_multi(C.BOOKS, pieces)
    return b.item("books")
