"""Floor-standing furniture as composite meshes (a chair = seat + back + legs, ...).

Each builder draws its own dimensions and materials from `rng` and returns an `Item` in the
local frame described in `parts.py` (footprint centred on the origin, front towards +y).
Dimensions follow common real furniture so that depth and shape carry the class.
"""

from __future__ import annotations

import math

import numpy as np

from app.synth.classes import C
from app.synth.geometry import Mesh, box, box_c, ellipsoid, frustum, rot_x, rot_z
from app.synth.materials import cardboard, hsv, lampshade, light_solid, metal, random_material, screen
from app.synth.parts import Builder, Item, Surface
from app.synth.textures import Material


def U(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _legs(w: float, d: float, h: float, size: float, inset: float, round_: bool) -> list[Mesh]:
    out = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            x = sx * (w / 2 - inset - size / 2)
            y = sy * (d / 2 - inset - size / 2)
            if round_:
                out.append(frustum(size / 2, size / 2, h, base=(x, y, 0.0), segments=10))
            else:
                out.append(box_c((x, y, h / 2), (size, size, h)))
    return out


def _pillow(rng: np.random.Generator, w: float, d: float, t: float) -> Mesh:
    return ellipsoid((w / 2, d / 2, t / 2), segments=16, rings=8, squareness=U(rng, 0.25, 0.45))


def chair(rng: np.random.Generator) -> Item:
    b = Builder()
    frame = random_material(rng) if rng.random() < 0.6 else metal(rng)
    seat_mat = frame if rng.random() < 0.4 else random_material(rng)
    w, d = U(rng, 0.40, 0.52), U(rng, 0.40, 0.52)
    seat_h, seat_t = U(rng, 0.42, 0.48), U(rng, 0.03, 0.08)
    back_h, back_t = U(rng, 0.30, 0.50), U(rng, 0.02, 0.05)
    tilt = U(rng, 0.0, 0.2)
    if rng.random() < 0.28:  # office chair: star base, gas lift, thick seat
        base_h = 0.07
        arms = []
        for k in range(5):
            a = 2 * math.pi * k / 5 + U(rng, -0.1, 0.1)
            arm = box((-0.02, 0.0, 0.03), (0.02, 0.32, base_h)).transformed(rot_z(a))
            arms.append(arm)
            tip = rot_z(a) @ np.array([0.0, 0.30, 0.0])
            arms.append(frustum(0.025, 0.025, 0.03, base=(tip[0], tip[1], 0.0), segments=8))
        b.add(C.CHAIR, frame, *arms)
        b.add(C.CHAIR, frame, frustum(0.025, 0.025, seat_h - seat_t - base_h, base=(0, 0, base_h), segments=10))
        w, d = max(w, 0.46), max(d, 0.46)
        seat_t = U(rng, 0.06, 0.1)
    else:
        leg = U(rng, 0.025, 0.045)
        b.add(C.CHAIR, frame, *_legs(w, d, seat_h - seat_t, leg, 0.01, rng.random() < 0.35))
        if rng.random() < 0.5:  # stretchers between the legs
            z = U(rng, 0.12, 0.2)
            b.add(
                C.CHAIR,
                frame,
                box_c((0, d / 2 - 0.03, z), (w - 0.04, 0.015, 0.02)),
                box_c((0, -d / 2 + 0.03, z), (w - 0.04, 0.015, 0.02)),
            )
    b.add(C.CHAIR, seat_mat, box((-w / 2, -d / 2, seat_h - seat_t), (w / 2, d / 2, seat_h)))
    # backrest, tilted backwards about the seat's rear edge
    pivot = np.array([0.0, -d / 2, seat_h])
    r = rot_x(tilt)
    back_parts = []
    if rng.random() < 0.35:  # slats between two posts
        for sx in (-1, 1):
            back_parts.append(box((sx * w / 2 - (sx > 0) * 0.03, 0, 0), (sx * w / 2 + (sx < 0) * 0.03, back_t, back_h)))
        n = int(rng.integers(2, 5))
        for k in range(n):
            z = back_h * (0.35 + 0.6 * (k + 1) / (n + 1))
            back_parts.append(box((-w / 2, 0.0, z - 0.03), (w / 2, back_t * 0.8, z + 0.03)))
    else:
        z0 = U(rng, 0.0, 0.12)
        back_parts.append(box((-w / 2, 0.0, z0), (w / 2, back_t, back_h)))
        if z0 > 0.02:
            for sx in (-1, 1):
                back_parts.append(box((sx * (w / 2 - 0.015) - 0.015, 0, 0), (sx * (w / 2 - 0.015) + 0.015, back_t, z0)))
    for m in back_parts:
        b.add(C.CHAIR, seat_mat if m is back_parts[0] else frame, m.transformed(r, pivot))
    if rng.random() < 0.25:  # armrests
        ah = U(rng, 0.18, 0.25)
        for sx in (-1, 1):
            x = sx * (w / 2 - 0.02)
            b.add(
                C.CHAIR,
                frame,
                box_c((x, 0.0, seat_h + ah), (0.05, d * 0.8, 0.03)),
                box_c((x, d * 0.3, seat_h + ah / 2), (0.03, 0.03, ah)),
            )
    return b.item("chair")


def table(rng: np.random.Generator, kind: str = "dining") -> Item:
    """Dining, coffee or side table; round or rectangular; the top is a surface."""
    b = Builder()
    top_mat = random_material(rng)
    leg_mat = top_mat if rng.random() < 0.5 else metal(rng)
    if kind == "coffee":
        w, d, h = U(rng, 0.8, 1.3), U(rng, 0.45, 0.75), U(rng, 0.36, 0.48)
    elif kind == "side":
        w = d = U(rng, 0.38, 0.6)
        h = U(rng, 0.48, 0.66)
    elif kind == "meeting":
        w, d, h = U(rng, 1.6, 2.6), U(rng, 0.9, 1.2), U(rng, 0.72, 0.76)
    else:
        w, d, h = U(rng, 0.8, 1.7), U(rng, 0.7, 1.0), U(rng, 0.72, 0.78)
    t = U(rng, 0.025, 0.05)
    round_top = kind != "meeting" and rng.random() < 0.25
    if round_top:
        d = w = min(w, 1.2)
        b.add(C.TABLE, top_mat, frustum(w / 2, w / 2, t, base=(0, 0, h - t), segments=28))
        b.add(
            C.TABLE,
            leg_mat,
            frustum(0.04, 0.04, h - t, base=(0, 0, 0), segments=10),
            frustum(min(0.3, w / 3), min(0.28, w / 3), 0.03, base=(0, 0, 0), segments=20),
        )
        surf = Surface(-w * 0.33, w * 0.33, -w * 0.33, w * 0.33, h, 0.5)
    else:
        b.add(C.TABLE, top_mat, box((-w / 2, -d / 2, h - t), (w / 2, d / 2, h)))
        leg = U(rng, 0.035, 0.07)
        inset = U(rng, 0.02, 0.1)
        b.add(C.TABLE, leg_mat, *_legs(w, d, h - t, leg, inset, rng.random() < 0.4))
        if rng.random() < 0.5:  # apron under the top
            ah = U(rng, 0.05, 0.1)
            off = inset + leg / 2
            b.add(
                C.TABLE,
                leg_mat,
                box((-w / 2 + off, -d / 2 + off, h - t - ah), (w / 2 - off, -d / 2 + off + 0.02, h - t)),
                box((-w / 2 + off, d / 2 - off - 0.02, h - t - ah), (w / 2 - off, d / 2 - off, h - t)),
            )
        if kind == "coffee" and rng.random() < 0.4:  # lower shelf
            b.add(C.TABLE, top_mat, box((-w / 2 + inset, -d / 2 + inset, 0.08), (w / 2 - inset, d / 2 - inset, 0.1)))
        surf = Surface(-w / 2 + 0.05, w / 2 - 0.05, -d / 2 + 0.05, d / 2 - 0.05, h, 0.6)
    return b.item(f"{kind}-table", surfaces=[surf])


def desk(rng: np.random.Generator) -> Item:
    b = Builder()
    top_mat = random_material(rng)
    body = top_mat if rng.random() < 0.6 else random_material(rng)
    w, d, h = U(rng, 1.0, 1.6), U(rng, 0.55, 0.75), U(rng, 0.72, 0.76)
    t = U(rng, 0.02, 0.04)
    b.add(C.DESK, top_mat, box((-w / 2, -d / 2, h - t), (w / 2, d / 2, h)))
    style = rng.integers(0, 3)
    if style == 0:  # two side panels and a modesty panel
        p = U(rng, 0.018, 0.03)
        b.add(
            C.DESK,
            body,
            box((-w / 2, -d / 2, 0), (-w / 2 + p, d / 2, h - t)),
            box((w / 2 - p, -d / 2, 0), (w / 2, d / 2, h - t)),
            box((-w / 2 + p, -d / 2 + 0.02, U(rng, 0.25, 0.4)), (w / 2 - p, -d / 2 + 0.04, h - t)),
        )
    elif style == 1:  # thin metal legs
        b.add(C.DESK, metal(rng), *_legs(w, d, h - t, U(rng, 0.03, 0.05), 0.02, rng.random() < 0.5))
    else:  # drawer pedestal on one side, panel on the other
        side = 1 if rng.random() < 0.5 else -1
        pw = U(rng, 0.35, 0.45)
        x0, x1 = sorted((side * (w / 2), side * (w / 2 - pw)))
        b.add(C.DESK, body, box((x0, -d / 2, 0), (x1, d / 2 - 0.01, h - t)), box(*_panel_x(-side * w / 2, d, h - t)))
        n = int(rng.integers(2, 5))
        hh = (h - t - 0.06) / n
        handle = metal(rng)
        for k in range(n):
            z0 = 0.04 + k * hh
            b.add(C.DESK, body, box((x0 + 0.01, d / 2 - 0.01, z0 + 0.005), (x1 - 0.01, d / 2 + 0.005, z0 + hh - 0.005)))
            b.add(C.DESK, handle, box_c(((x0 + x1) / 2, d / 2 + 0.015, z0 + hh * 0.7), (0.1, 0.02, 0.015)))
    return b.item("desk", surfaces=[Surface(-w / 2 + 0.05, w / 2 - 0.05, -d / 2 + 0.05, d / 2 - 0.08, h, 0.7)])


def _panel_x(x: float, d: float, h: float) -> tuple[tuple, tuple]:
    """A 2.5 cm side panel whose outer face is at x (either side)."""
    x0, x1 = (x, x + 0.025) if x < 0 else (x - 0.025, x)
    return (x0, -d / 2, 0.0), (x1, d / 2, h)


def bed(rng: np.random.Generator) -> Item:
    """Frame, mattress, blanket and pillows; the head end (-y) goes against a wall."""
    b = Builder()
    w = float(rng.choice([U(rng, 0.9, 1.05), U(rng, 1.35, 1.6), U(rng, 1.6, 1.9)], p=[0.3, 0.45, 0.25]))
    length = U(rng, 1.95, 2.15)
    frame_mat = random_material(rng)
    frame_h = U(rng, 0.18, 0.35)
    head_t = U(rng, 0.04, 0.09)
    y0 = -length / 2 + head_t
    if rng.random() < 0.5:  # legs + side rails
        rail = U(rng, 0.1, 0.16)
        b.add(
            C.BED,
            frame_mat,
            box((-w / 2, y0, frame_h - rail), (w / 2, length / 2, frame_h)),
            *[
                m.transformed(None, (0, head_t / 2, 0))
                for m in _legs(w, length - head_t, frame_h - rail, 0.05, 0.0, False)
            ],
        )
    else:  # solid base
        b.add(C.BED, frame_mat, box((-w / 2, y0, 0.0), (w / 2, length / 2, frame_h)))
    mat_t = U(rng, 0.15, 0.26)
    mattress = light_solid(rng, 0.6, 0.95) if rng.random() < 0.5 else random_material(rng, ("fabric", "solid"))
    top = frame_h + mat_t
    b.add(C.BED, mattress, box((-w / 2 + 0.02, y0 + 0.01, frame_h), (w / 2 - 0.02, length / 2 - 0.02, top)))
    head_h = U(rng, 0.8, 1.3)
    b.add(
        C.BED,
        frame_mat if rng.random() < 0.7 else random_material(rng),
        box((-w / 2 - 0.02, -length / 2, 0.0), (w / 2 + 0.02, y0, head_h)),
    )
    if rng.random() < 0.3:
        b.add(
            C.BED,
            frame_mat,
            box((-w / 2 - 0.02, length / 2 - 0.05, 0.0), (w / 2 + 0.02, length / 2, top + U(rng, 0.05, 0.3))),
        )
    if rng.random() < 0.85:  # blanket: top sheet plus sides hanging down
        blanket = random_material(rng, ("fabric", "stripes", "checker", "solid"))
        bt = U(rng, 0.03, 0.06)
        yb = y0 + length * U(rng, 0.25, 0.4)
        hang = min(U(rng, 0.12, 0.3), top - 0.05)
        yend = length / 2 - 0.02 + (0.0 if rng.random() < 0.5 else 0.02)
        b.add(
            C.BED,
            blanket,
            box((-w / 2 + 0.01, yb, top), (w / 2 - 0.01, yend, top + bt)),
            box((-w / 2 - 0.0, yb, top - hang), (-w / 2 + 0.01, yend, top + bt)),
            box((w / 2 - 0.01, yb, top - hang), (w / 2, yend, top + bt)),
        )
    n = 1 if w < 1.2 else 2
    pillow_mat = random_material(rng, ("fabric", "solid", "stripes"))
    pw = min(U(rng, 0.5, 0.7), (w - 0.12) / n)
    for k in range(n):
        x = (k - (n - 1) / 2) * (w - 0.1) / n
        pt = U(rng, 0.1, 0.16)
        p = _pillow(rng, pw, U(rng, 0.3, 0.42), pt).transformed(rot_x(-U(rng, 0.0, 0.3)) @ rot_z(U(rng, -0.08, 0.08)))
        b.add(C.PILLOW, pillow_mat, p.transformed(None, (x, y0 + 0.24, top + pt / 2 - 0.01)))
    return b.item("bed")


def night_stand(rng: np.random.Generator) -> Item:
    b = Builder()
    mat = random_material(rng)
    w, d, h = U(rng, 0.38, 0.55), U(rng, 0.33, 0.45), U(rng, 0.45, 0.66)
    z0 = 0.0
    if rng.random() < 0.4:
        z0 = U(rng, 0.08, 0.16)
        b.add(C.NIGHT_STAND, mat, *_legs(w, d, z0 + 0.01, 0.03, 0.01, rng.random() < 0.5))
    b.add(C.NIGHT_STAND, mat, box((-w / 2, -d / 2, z0), (w / 2, d / 2, h)))
    n = int(rng.integers(1, 3))
    hh = (h - z0 - 0.04) / n
    front = mat if rng.random() < 0.6 else random_material(rng)
    knob = metal(rng)
    for k in range(n):
        zz = z0 + 0.02 + k * hh
        b.add(
            C.NIGHT_STAND,
            front,
            box((-w / 2 + 0.015, d / 2, zz + 0.005), (w / 2 - 0.015, d / 2 + 0.012, zz + hh - 0.005)),
        )
        b.add(C.NIGHT_STAND, knob, box_c((0, d / 2 + 0.022, zz + hh / 2), (0.05, 0.02, 0.02)))
    return b.item("night-stand", surfaces=[Surface(-w / 2 + 0.04, w / 2 - 0.04, -d / 2 + 0.04, d / 2 - 0.04, h, 0.7)])


def _drawer_grid(
    b: Builder, cls: int, mat: Material, knob: Material, w: float, d: float, z0: float, z1: float, rows: int, cols: int
) -> None:
    hh = (z1 - z0) / rows
    ww = (w - 0.03) / cols
    for r in range(rows):
        for c in range(cols):
            x0 = -w / 2 + 0.015 + c * ww
            zz = z0 + r * hh
            b.add(cls, mat, box((x0 + 0.004, d / 2, zz + 0.004), (x0 + ww - 0.004, d / 2 + 0.015, zz + hh - 0.004)))
            b.add(cls, knob, box_c((x0 + ww / 2, d / 2 + 0.025, zz + hh * 0.6), (min(0.12, ww * 0.4), 0.02, 0.018)))


def dresser(rng: np.random.Generator) -> Item:
    b = Builder()
    mat = random_material(rng)
    w, d, h = U(rng, 0.8, 1.6), U(rng, 0.42, 0.55), U(rng, 0.75, 1.1)
    plinth = U(rng, 0.04, 0.1)
    b.add(
        C.DRESSER,
        mat,
        box((-w / 2, -d / 2, plinth), (w / 2, d / 2, h)),
        box((-w / 2 + 0.03, -d / 2 + 0.03, 0.0), (w / 2 - 0.03, d / 2 - 0.03, plinth)),
    )
    rows = int(rng.integers(3, 5))
    cols = 2 if w > 1.1 and rng.random() < 0.7 else 1
    _drawer_grid(
        b,
        C.DRESSER,
        mat if rng.random() < 0.5 else random_material(rng),
        metal(rng),
        w,
        d,
        plinth + 0.02,
        h - 0.03,
        rows,
        cols,
    )
    return b.item("dresser", surfaces=[Surface(-w / 2 + 0.05, w / 2 - 0.05, -d / 2 + 0.05, d / 2 - 0.05, h, 0.7)])


def cabinet(rng: np.random.Generator, kind: str | None = None, cls: int = C.CABINET) -> Item:
    """Wardrobe, low sideboard or filing cabinet; doors or drawers on the front."""
    b = Builder()
    kind = kind or str(rng.choice(["wardrobe", "low", "filing"], p=[0.35, 0.45, 0.2]))
    mat = random_material(rng) if rng.random() < 0.7 else light_solid(rng, 0.4, 0.9)
    front = mat if rng.random() < 0.6 else random_material(rng)
    handle = metal(rng)
    if kind == "wardrobe":
        w, d, h = U(rng, 0.8, 1.5), U(rng, 0.5, 0.62), U(rng, 1.8, 2.15)
    elif kind == "filing":
        w, d, h = U(rng, 0.4, 0.5), U(rng, 0.45, 0.62), U(rng, 0.7, 1.35)
    else:
        w, d, h = U(rng, 0.6, 1.6), U(rng, 0.35, 0.5), U(rng, 0.55, 0.9)
    plinth = U(rng, 0.0, 0.1)
    plinth = plinth if plinth > 0.02 else 0.0  # a recessed base, or the body stands on the floor
    b.add(cls, mat, box((-w / 2, -d / 2, plinth), (w / 2, d / 2, h)))
    if plinth > 0.02:
        b.add(cls, mat, box((-w / 2 + 0.03, -d / 2 + 0.03, 0.0), (w / 2 - 0.03, d / 2 - 0.03, plinth + 0.001)))
    if kind == "filing":
        _drawer_grid(b, cls, front, handle, w, d, plinth + 0.02, h - 0.02, int(rng.integers(2, 5)), 1)
    else:
        n = max(1, int(round(w / U(rng, 0.4, 0.6))))
        dw = (w - 0.02) / n
        for k in range(n):
            x0 = -w / 2 + 0.01 + k * dw
            b.add(cls, front, box((x0 + 0.003, d / 2, plinth + 0.01), (x0 + dw - 0.003, d / 2 + 0.018, h - 0.01)))
            hx = x0 + dw - 0.05 if k % 2 == 0 else x0 + 0.05
            hz = min(h * 0.55, 1.1) if kind == "wardrobe" else h - 0.12
            b.add(cls, handle, box_c((hx, d / 2 + 0.03, hz), (0.02, 0.02, min(0.25, h * 0.25))))
    surfaces = [Surface(-w / 2 + 0.04, w / 2 - 0.04, -d / 2 + 0.04, d / 2 - 0.04, h, 0.7)] if h < 1.4 else []
    return b.item(f"{kind}-cabinet", surfaces=surfaces)


def refrigerator(rng: np.random.Generator) -> Item:
    b = Builder()
    mat = light_solid(rng, 0.55, 0.95) if rng.random() < 0.7 else random_material(rng, ("solid",))
    w, d, h = U(rng, 0.6, 0.9), U(rng, 0.6, 0.75), U(rng, 1.5, 1.95)
    b.add(C.REFRIGERATOR, mat, box((-w / 2, -d / 2, 0.0), (w / 2, d / 2 - 0.03, h)))
    split = h * U(rng, 0.3, 0.42) if rng.random() < 0.8 else h * U(rng, 0.58, 0.7)
    handle = metal(rng)
    for z0, z1 in ((0.02, split - 0.005), (split + 0.005, h - 0.01)):
        b.add(C.REFRIGERATOR, mat, box((-w / 2 + 0.005, d / 2 - 0.03, z0), (w / 2 - 0.005, d / 2, z1)))
        b.add(
            C.REFRIGERATOR, handle, box_c((w / 2 - 0.06, d / 2 + 0.025, (z0 + z1) / 2), (0.025, 0.04, (z1 - z0) * 0.5))
        )
    return b.item("refrigerator", surfaces=[Surface(-w / 2 + 0.05, w / 2 - 0.05, -d / 2 + 0.05, d / 2 - 0.08, h, 0.4)])


def sofa(rng: np.random.Generator, seats: int | None = None) -> Item:
    """Base, seat cushions, back, arms, short legs and (sometimes) throw pillows."""
    b = Builder()
    seats = seats or int(rng.choice([2, 3, 3, 4]))
    mat = random_material(rng, ("fabric", "fabric", "solid", "stripes", "checker"))
    arm_w = U(rng, 0.08, 0.24)
    seat_w = U(rng, 0.5, 0.65)
    w = seats * seat_w + 2 * arm_w
    d = U(rng, 0.8, 1.0)
    leg_h = U(rng, 0.03, 0.14)
    seat_h, cush_t = U(rng, 0.4, 0.48), U(rng, 0.1, 0.17)
    back_h, back_t = U(rng, 0.72, 0.95), U(rng, 0.15, 0.26)
    arm_h = U(rng, 0.52, 0.68)
    legs = metal(rng) if rng.random() < 0.5 else random_material(rng, ("wood",))
    b.add(C.SOFA, legs, *_legs(w - 0.04, d - 0.04, leg_h + 0.01, 0.04, 0.02, rng.random() < 0.5))
    b.add(
        C.SOFA,
        mat,
        box((-w / 2, -d / 2, leg_h), (w / 2, d / 2, seat_h - cush_t)),
        box((-w / 2, -d / 2, seat_h - cush_t), (w / 2, -d / 2 + back_t, back_h)),
        box((-w / 2, -d / 2, seat_h - cush_t), (-w / 2 + arm_w, d / 2, arm_h)),
        box((w / 2 - arm_w, -d / 2, seat_h - cush_t), (w / 2, d / 2, arm_h)),
    )
    cush = mat if rng.random() < 0.7 else random_material(rng, ("fabric", "solid"))
    inner = w - 2 * arm_w
    n = seats if rng.random() < 0.7 else 1
    cw = inner / n
    for k in range(n):
        x0 = -w / 2 + arm_w + k * cw
        b.add(
            C.SOFA, cush, box((x0 + 0.005, -d / 2 + back_t, seat_h - cush_t), (x0 + cw - 0.005, d / 2 - 0.01, seat_h))
        )
    if rng.random() < 0.4:  # back cushions
        for k in range(n):
            x0 = -w / 2 + arm_w + k * cw
            cushion = box((x0 + 0.01, 0.0, 0.0), (x0 + cw - 0.01, 0.12, back_h - seat_h - 0.02))
            b.add(C.SOFA, cush, cushion.transformed(rot_x(0.12), (0, -d / 2 + back_t, seat_h)))
    k_pillows = int(rng.choice([0, 0, 1, 2, 2, 3]))
    pm = random_material(rng)
    for k in range(min(k_pillows, seats)):
        side = -1 if k % 2 == 0 else 1
        x = side * (inner / 2 - 0.25 - (k // 2) * 0.45)
        s = U(rng, 0.38, 0.48)
        p = _pillow(rng, s, U(rng, 0.1, 0.16), s).transformed(rot_x(-0.25) @ rot_z(U(rng, -0.15, 0.15)))
        b.add(C.PILLOW, pm, p.transformed(None, (x, -d / 2 + back_t + 0.1, seat_h + s / 2 - 0.02)))
    return b.item("sofa")


def armchair(rng: np.random.Generator) -> Item:
    """A one-seat sofa (NYU labels these sofa)."""
    return sofa(rng, seats=1)


def bookshelf(rng: np.random.Generator) -> Item:
    """Frame with shelves, mostly filled with books (class books), some boxes and ornaments."""
    b = Builder()
    mat = random_material(rng)
    w, d, h = U(rng, 0.6, 1.2), U(rng, 0.26, 0.4), U(rng, 0.9, 2.1)
    t = U(rng, 0.015, 0.03)
    plinth = U(rng, 0.03, 0.1)
    back = box((-w / 2, -d / 2, 0.0), (w / 2, -d / 2 + 0.008, h))
    b.add(
        C.BOOKSHELF,
        mat,
        box((-w / 2, -d / 2, 0.0), (-w / 2 + t, d / 2, h)),
        box((w / 2 - t, -d / 2, 0.0), (w / 2, d / 2, h)),
        box((-w / 2 + t, -d / 2, h - t), (w / 2 - t, d / 2, h)),
        box((-w / 2 + t, -d / 2, 0.0), (w / 2 - t, d / 2, plinth + t)),
        back,
    )
    n_shelves = max(2, int(round((h - plinth) / U(rng, 0.3, 0.4))))
    gap = (h - plinth - t) / n_shelves
    books: list[tuple[Mesh, Material]] = []
    for k in range(n_shelves):
        z = plinth + t + k * gap
        if k > 0:
            b.add(C.BOOKSHELF, mat, box((-w / 2 + t, -d / 2, z - t), (w / 2 - t, d / 2, z)))
        fill = rng.random()
        x = -w / 2 + t + 0.005
        xend = w / 2 - t - 0.005
        if fill < 0.12:
            continue  # an empty shelf
        if fill < 0.3:  # a box or an ornament on this shelf
            bw = min(U(rng, 0.15, 0.35), xend - x)
            bh = min(U(rng, 0.1, 0.3), gap - t - 0.03)
            if bw > 0.08 and bh > 0.06:
                x0 = U(rng, x, xend - bw)
                if rng.random() < 0.6:
                    b.add(C.BOX, cardboard(rng), box((x0, -d / 2 + 0.02, z), (x0 + bw, d / 2 - 0.02, z + bh)))
                else:
                    r = min(bw, d - 0.05) / 2 * 0.7
                    b.add(
                        C.OTHERPROP,
                        random_material(rng),
                        frustum(r * 0.7, r, bh, base=(x0 + bw / 2, 0.0, z), segments=12),
                    )
            continue
        limit = x + (xend - x) * U(rng, 0.45, 1.0)
        while x < limit:
            bw = U(rng, 0.015, 0.06)
            bh = min(U(rng, 0.15, 0.32), gap - t - 0.02)
            bd = (d - 0.02) * U(rng, 0.6, 0.95)
            if x + bw > xend or bh < 0.05:
                break
            c = random_material(rng, ("solid", "solid", "stripes", "fabric"))
            books.append((box((x, d / 2 - 0.01 - bd, z), (x + bw, d / 2 - 0.01, z + bh)), c))
            x += bw + (U(rng, 0.0, 0.003) if rng.random() < 0.9 else U(rng, 0.02, 0.1))
        if x < xend - 0.15 and rng.random() < 0.5:  # a lying stack
            for j in range(int(rng.integers(1, 5))):
                bt = U(rng, 0.02, 0.05)
                c = random_material(rng, ("solid", "stripes"))
                zz = z + j * 0.045
                if zz + bt > z + gap - t - 0.01:
                    break
                books.append(
                    (box((x + 0.02, -d / 2 + 0.03, zz), (x + 0.02 + U(rng, 0.13, 0.15), d / 2 - 0.02, zz + bt)), c)
                )
    b.add_multi(C.BOOKS, books)
    surfaces = [Surface(-w / 2 + 0.05, w / 2 - 0.05, -d / 2 + 0.05, d / 2 - 0.05, h, 0.4)] if h < 1.3 else []
    return b.item("bookshelf", surfaces=surfaces)


def floor_lamp(rng: np.random.Generator) -> Item:
    b = Builder()
    m = metal(rng)
    hgt = U(rng, 1.3, 1.75)
    r_base = U(rng, 0.12, 0.18)
    b.add(
        C.LAMP,
        m,
        frustum(r_base, r_base * 0.9, U(rng, 0.02, 0.04), segments=20),
        frustum(0.012, 0.012, hgt, segments=8),
    )
    rb, rt, sh = U(rng, 0.17, 0.26), U(rng, 0.1, 0.17), U(rng, 0.2, 0.32)
    b.add(C.LAMP, lampshade(rng), frustum(rb, rt, sh, base=(0, 0, hgt - sh * 0.6), segments=24, caps=False))
    return b.item("floor-lamp")


def table_lamp(rng: np.random.Generator) -> Item:
    b = Builder()
    base = random_material(rng) if rng.random() < 0.5 else metal(rng)
    bh = U(rng, 0.12, 0.3)
    if rng.random() < 0.5:
        r = U(rng, 0.05, 0.09)
        b.add(C.LAMP, base, frustum(r, r * U(rng, 0.6, 1.2), bh, segments=16))
    else:
        s = U(rng, 0.08, 0.14)
        b.add(C.LAMP, base, box((-s / 2, -s / 2, 0.0), (s / 2, s / 2, bh)))
    pole = U(rng, 0.05, 0.15)
    b.add(C.LAMP, metal(rng), frustum(0.008, 0.008, pole, base=(0, 0, bh), segments=6))
    rb, sh = U(rng, 0.1, 0.18), U(rng, 0.13, 0.22)
    b.add(
        C.LAMP,
        lampshade(rng),
        frustum(rb, rb * U(rng, 0.55, 0.9), sh, base=(0, 0, bh + pole - sh * 0.3), segments=20, caps=False),
    )
    return b.item("table-lamp")


def box_stack(rng: np.random.Generator) -> Item:
    """One to three cardboard (or painted) boxes, stacked."""
    b = Builder()
    z = 0.0
    w, d = U(rng, 0.25, 0.6), U(rng, 0.2, 0.5)
    for _ in range(int(rng.choice([1, 1, 2, 3]))):
        h = U(rng, 0.15, 0.45)
        dx, dy = U(rng, -0.03, 0.03), U(rng, -0.03, 0.03)
        mesh = box((-w / 2, -d / 2, 0.0), (w / 2, d / 2, h)).transformed(rot_z(U(rng, -0.15, 0.15)), (dx, dy, z))
        b.add(C.BOX, cardboard(rng), mesh)
        z += h
        w, d = w * U(rng, 0.7, 1.0), d * U(rng, 0.7, 1.0)
    return b.item("boxes")


def small_box(rng: np.random.Generator) -> Item:
    b = Builder()
    w, d, h = U(rng, 0.1, 0.35), U(rng, 0.1, 0.3), U(rng, 0.05, 0.25)
    b.add(C.BOX, cardboard(rng), box((-w / 2, -d / 2, 0.0), (w / 2, d / 2, h)))
    return b.item("small-box")


def slab_pile(rng: np.random.Generator, cls: int, kind: str, count, width, depth, thickness, twist: float,
              material) -> Item:
    """A pile of flat boxes, each a little askew (books, paper): `count` and the sizes are (lo, hi)
    ranges, `twist` the largest turn in radians, `material(rng)` each slab's material."""
    b = Builder()
    pieces = []
    z = 0.0
    for _ in range(int(rng.integers(*count))):
        w, d, t = U(rng, *width), U(rng, *depth), U(rng, *thickness)
        mesh = box((-w / 2, -d / 2, z), (w / 2, d / 2, z + t)).transformed(rot_z(U(rng, -twist, twist)))
        pieces.append((mesh, material(rng)))
        z += t
    b.add_multi(cls, pieces)
    return b.item(kind)


def books_pile(rng: np.random.Generator) -> Item:
    return slab_pile(
        rng, C.BOOKS, "books", (1, 5), (0.15, 0.3), (0.12, 0.24), (0.015, 0.05), 0.2,
        lambda g: random_material(g, ("solid", "stripes")),
    )


def monitor(rng: np.random.Generator) -> Item:
    """A desk monitor, labelled otherprop ("objects" in NYUv2-13) as NYUv2's annotators have it: their
    "monitor" maps to otherprop, and NYU40's television is for TVs only. real-val's desks show this:
    every monitor is "objects" and no pixel is "tv"."""
    b = Builder()
    body = metal(rng)
    w = U(rng, 0.45, 0.7)
    h = w * U(rng, 0.56, 0.65)
    t = U(rng, 0.02, 0.05)
    z0 = U(rng, 0.1, 0.2)
    b.add(
        C.OTHERPROP,
        body,
        box((-0.1, -0.09, 0.0), (0.1, 0.09, 0.015)),
        box((-0.025, -0.02, 0.0), (0.025, 0.0, z0 + 0.05)),
    )
    b.add(C.OTHERPROP, body, box((-w / 2, 0.0, z0), (w / 2, t, z0 + h)))
    b.add(C.OTHERPROP, screen(rng), box((-w / 2 + 0.012, t, z0 + 0.012), (w / 2 - 0.012, t + 0.002, z0 + h - 0.012)))
    return b.item("monitor", faces_parent=True)


def television(rng: np.random.Generator, stand: bool = True) -> Item:
    """A flat TV; with a foot when it stands on furniture, without when wall-mounted."""
    b = Builder()
    body = metal(rng)
    w = U(rng, 0.75, 1.4)
    h = w * 0.58
    t = U(rng, 0.03, 0.07)
    z0 = 0.0
    if stand:
        z0 = U(rng, 0.05, 0.12)
        b.add(
            C.TELEVISION,
            body,
            box((-w * 0.2, -0.12, 0.0), (w * 0.2, 0.12, 0.02)),
            box((-0.04, -0.03, 0.0), (0.04, 0.0, z0 + 0.1)),
        )
        y0 = -t / 2
    else:
        y0 = 0.0
    b.add(C.TELEVISION, body, box((-w / 2, y0, z0), (w / 2, y0 + t, z0 + h)))
    b.add(
        C.TELEVISION,
        screen(rng),
        box((-w / 2 + 0.015, y0 + t, z0 + 0.015), (w / 2 - 0.015, y0 + t + 0.002, z0 + h - 0.015)),
    )
    return b.item("television", faces_parent=True)


def plant(rng: np.random.Generator, small: bool = False) -> Item:
    """A pot with foliage (otherprop)."""
    b = Builder()
    s = 0.5 if small else 1.0
    r = U(rng, 0.1, 0.2) * s
    ph = U(rng, 0.15, 0.4) * s
    pot = random_material(rng) if rng.random() < 0.5 else light_solid(rng, 0.3, 0.9)
    b.add(C.OTHERPROP, pot, frustum(r * 0.75, r, ph, segments=16))
    leaves = random_material(rng, ("fabric",))
    leaves = type(leaves)(
        leaves.pattern, _green(rng), _green(rng), scale=12.0, noise=0.3, seed=leaves.seed, name="leaves"
    )
    fh = U(rng, 0.25, 0.9) * s
    fr = U(rng, 0.15, 0.35) * s
    b.add(
        C.OTHERPROP,
        leaves,
        ellipsoid((fr, fr * U(rng, 0.8, 1.2), fh / 2), center=(0, 0, ph + fh / 2 - 0.02), segments=10, rings=7),
    )
    return b.item("plant")


def _green(rng: np.random.Generator) -> tuple[float, float, float]:
    return hsv(U(rng, 0.22, 0.4), U(rng, 0.4, 0.8), U(rng, 0.15, 0.6))


def vase(rng: np.random.Generator) -> Item:
    """Vases, bottles, cups: small turned shapes (otherprop)."""
    b = Builder()
    m = random_material(rng)
    kind = rng.integers(0, 3)
    if kind == 0:  # vase
        r, h = U(rng, 0.04, 0.1), U(rng, 0.12, 0.35)
        b.add(
            C.OTHERPROP,
            m,
            frustum(r * 0.7, r, h * 0.7, segments=14),
            frustum(r, r * 0.5, h * 0.3, base=(0, 0, h * 0.7), segments=14),
        )
    elif kind == 1:  # bottle
        r, h = U(rng, 0.03, 0.05), U(rng, 0.2, 0.32)
        b.add(
            C.OTHERPROP,
            m,
            frustum(r, r, h * 0.65, segments=12),
            frustum(r, r * 0.35, h * 0.15, base=(0, 0, h * 0.65), segments=12),
            frustum(r * 0.35, r * 0.35, h * 0.2, base=(0, 0, h * 0.8), segments=8),
        )
    else:  # bowl / cup
        r, h = U(rng, 0.04, 0.12), U(rng, 0.05, 0.1)
        b.add(C.OTHERPROP, m, frustum(r * 0.6, r, h, segments=16))
    return b.item("vase")


def bag(rng: np.random.Generator) -> Item:
    b = Builder()
    w, d, h = U(rng, 0.3, 0.5), U(rng, 0.15, 0.28), U(rng, 0.28, 0.45)
    m = random_material(rng, ("fabric", "solid", "stripes"))
    b.add(
        C.BAG,
        m,
        ellipsoid((w / 2, d / 2, h / 2), center=(0, 0, h / 2), squareness=U(rng, 0.2, 0.4), segments=16, rings=8),
    )
    b.add(
        C.BAG,
        m,
        box_c((0, 0, h + 0.04), (w * 0.5, 0.02, 0.02)),
        box_c((-w * 0.25, 0, h + 0.015), (0.02, 0.02, 0.06)),
        box_c((w * 0.25, 0, h + 0.015), (0.02, 0.02, 0.06)),
    )
    return b.item("bag")


def stool(rng: np.random.Generator) -> Item:
    """Stools, ottomans and benches (otherfurniture)."""
    b = Builder()
    m = random_material(rng)
    kind = rng.integers(0, 3)
    if kind == 0:
        r, h = U(rng, 0.15, 0.22), U(rng, 0.42, 0.75)
        b.add(C.OTHERFURNITURE, m, frustum(r, r, 0.04, base=(0, 0, h - 0.04), segments=18))
        legs = []
        for k in range(int(rng.choice([3, 4]))):
            a = 2 * math.pi * k / 4 + 0.3
            x, y = math.cos(a) * r * 0.8, math.sin(a) * r * 0.8
            legs.append(frustum(0.015, 0.015, h - 0.04, base=(x, y, 0.0), segments=6))
        b.add(C.OTHERFURNITURE, metal(rng), *legs)
    elif kind == 1:  # ottoman
        s, h = U(rng, 0.4, 0.7), U(rng, 0.35, 0.45)
        b.add(
            C.OTHERFURNITURE, random_material(rng, ("fabric", "solid")), box((-s / 2, -s / 2, 0.0), (s / 2, s / 2, h))
        )
    else:  # bench
        w, d, h = U(rng, 0.9, 1.5), U(rng, 0.3, 0.4), U(rng, 0.4, 0.48)
        b.add(
            C.OTHERFURNITURE,
            m,
            box((-w / 2, -d / 2, h - 0.04), (w / 2, d / 2, h)),
            box((-w / 2 + 0.03, -d / 2, 0.0), (-w / 2 + 0.07, d / 2, h - 0.04)),
            box((w / 2 - 0.07, -d / 2, 0.0), (w / 2 - 0.03, d / 2, h - 0.04)),
        )
    return b.item("stool")


def rug(rng: np.random.Generator, w: float | None = None, d: float | None = None) -> Item:
    """A floor mat; other furniture may stand on it (it is not an obstacle)."""
    b = Builder()
    w = w or U(rng, 0.8, 2.4)
    d = d or U(rng, 0.6, 1.8)
    t = U(rng, 0.004, 0.012)
    b.add(
        C.FLOOR_MAT,
        random_material(rng, ("fabric", "stripes", "checker", "solid")),
        box((-w / 2, -d / 2, 0.0), (w / 2, d / 2, t)),
    )
    return b.item("rug")
