"""Kitchen and bathroom fixtures: counter runs with a sink, toilets, washbasins, bathtubs with
shower curtains. Floor items in the frame of `parts.py` (back against the wall at -y)."""

from __future__ import annotations

import numpy as np

from app.synth.classes import C
from app.synth.furniture import U
from app.synth.geometry import Mesh, box, box_c, frustum, rot_x, wavy_panel
from app.synth.materials import light_solid, metal, random_material
from app.synth.parts import Builder, Item, Surface
from app.synth.textures import Material


def _basin(
    cls: int, mat: Material, x0: float, x1: float, y0: float, y1: float, z_top: float, depth: float, wall: float = 0.015
) -> list[Mesh]:
    """An open box sunk below z_top: bottom plus four inner walls (what a camera sees of a sink)."""
    zb = z_top - depth
    return [
        box((x0, y0, zb - 0.01), (x1, y1, zb)),
        box((x0, y0, zb), (x0 + wall, y1, z_top)),
        box((x1 - wall, y0, zb), (x1, y1, z_top)),
        box((x0, y0, zb), (x1, y0 + wall, z_top)),
        box((x0, y1 - wall, zb), (x1, y1, z_top)),
    ]


def _top_with_hole(x0, x1, y0, y1, z0, z1, hx0, hx1, hy0, hy1) -> list[Mesh]:
    """A slab with a rectangular cut-out (the sink opening)."""
    return [
        box((x0, y0, z0), (hx0, y1, z1)),
        box((hx1, y0, z0), (x1, y1, z1)),
        box((hx0, y0, z0), (hx1, hy0, z1)),
        box((hx0, hy1, z0), (hx1, y1, z1)),
    ]


def _body_with_well(x0, x1, y0, y1, z0, z1, hx0, hx1, hy0, hy1, z_well) -> list[Mesh]:
    """A cabinet body hollowed from the top down to z_well under a sink opening, so that a ray
    looking into the basin meets the basin, not the body."""
    return [box((x0, y0, z0), (x1, y1, z_well)), *_top_with_hole(x0, x1, y0, y1, z_well, z1, hx0, hx1, hy0, hy1)]


def _faucet(m: Material, x: float, y: float, z: float) -> list[Mesh]:
    return [frustum(0.018, 0.018, 0.22, base=(x, y, z), segments=8), box_c((x, y + 0.07, z + 0.21), (0.03, 0.16, 0.03))]


def counter_run(rng: np.random.Generator, length: float) -> Item:
    """Base cabinets under a countertop (class counter), often with a sink (class sink)."""
    b = Builder()
    d, h = U(rng, 0.58, 0.65), U(rng, 0.86, 0.93)
    t = U(rng, 0.025, 0.045)
    w = length
    body = random_material(rng) if rng.random() < 0.6 else light_solid(rng, 0.5, 0.95)
    top = (
        random_material(rng, ("solid", "wood", "tiles", "fabric"))
        if rng.random() < 0.7
        else light_solid(rng, 0.3, 0.95)
    )
    plinth = U(rng, 0.08, 0.12)
    sink = None
    if rng.random() < 0.7 and w > 1.0:  # decide the sink first: the cabinet body is hollowed under it
        sw, sd = U(rng, 0.4, 0.7), U(rng, 0.35, 0.42)
        cx = U(rng, -w / 2 + sw / 2 + 0.1, w / 2 - sw / 2 - 0.1)
        cy = U(rng, -0.02, 0.04)
        sink = (cx - sw / 2, cx + sw / 2, cy - sd / 2, cy + sd / 2, U(rng, 0.15, 0.2))
    if sink is None:
        b.add(C.CABINET, body, box((-w / 2, -d / 2, plinth), (w / 2, d / 2 - 0.04, h - t)))
    else:
        hx0, hx1, hy0, hy1, depth = sink
        b.add(
            C.CABINET,
            body,
            *_body_with_well(-w / 2, w / 2, -d / 2, d / 2 - 0.04, plinth, h - t, hx0, hx1, hy0, hy1, h - depth - 0.02),
        )
    b.add(C.CABINET, body, box((-w / 2, -d / 2, 0.0), (w / 2, d / 2 - 0.1, plinth + 0.001)))
    n = max(1, int(round(w / U(rng, 0.45, 0.6))))
    dw = w / n
    handle = metal(rng)
    for k in range(n):
        x0 = -w / 2 + k * dw
        b.add(
            C.CABINET,
            body,
            box((x0 + 0.003, d / 2 - 0.04, plinth + 0.01), (x0 + dw - 0.003, d / 2 - 0.02, h - t - 0.01)),
        )
        b.add(C.CABINET, handle, box_c((x0 + dw / 2, d / 2 - 0.01, h - t - 0.08), (min(0.15, dw * 0.4), 0.02, 0.02)))
    x0, x1, y0, y1 = -w / 2, w / 2, -d / 2, d / 2 + 0.01
    surfaces = []
    if sink is not None:
        hx0, hx1, hy0, hy1, depth = sink
        cx = (hx0 + hx1) / 2
        b.add(C.COUNTER, top, *_top_with_hole(x0, x1, y0, y1, h - t, h, hx0, hx1, hy0, hy1))
        sink_mat = metal(rng) if rng.random() < 0.6 else light_solid(rng, 0.7, 0.95)
        b.add(C.SINK, sink_mat, *_basin(C.SINK, sink_mat, hx0, hx1, hy0, hy1, h, depth))
        b.add(C.SINK, metal(rng), *_faucet(sink_mat, cx, hy0 - 0.05, h))
        if hx0 - x0 > 0.3:
            surfaces.append(Surface(x0 + 0.05, hx0 - 0.05, y0 + 0.05, y1 - 0.08, h, 0.45))
        if x1 - hx1 > 0.3:
            surfaces.append(Surface(hx1 + 0.05, x1 - 0.05, y0 + 0.05, y1 - 0.08, h, 0.45))
    else:
        b.add(C.COUNTER, top, box((x0, y0, h - t), (x1, y1, h)))
        surfaces.append(Surface(x0 + 0.05, x1 - 0.05, y0 + 0.05, y1 - 0.08, h, 0.45))
    return b.item("counter", surfaces=surfaces)


def toilet(rng: np.random.Generator) -> Item:
    b = Builder()
    m = light_solid(rng, 0.75, 0.97) if rng.random() < 0.85 else random_material(rng, ("solid",))
    bowl_h = U(rng, 0.36, 0.42)
    r = U(rng, 0.17, 0.2)
    sy = U(rng, 1.2, 1.4)
    d_tank = U(rng, 0.15, 0.22)
    cy = -0.35 + d_tank + r * sy - 0.02  # bowl centre in front of the tank
    b.add(C.TOILET, m, frustum(r * 0.6, r, bowl_h, base=(0, cy, 0.0), segments=20, sy=sy))
    # seat ring: a thin elliptic disc; the inner dark water surface just below it
    b.add(
        C.TOILET,
        m if rng.random() < 0.6 else random_material(rng, ("solid",)),
        frustum(r * 1.02, r * 1.02, 0.025, base=(0, cy, bowl_h), segments=20, sy=sy),
    )
    tw = U(rng, 0.36, 0.46)
    b.add(C.TOILET, m, box((-tw / 2, -0.35, bowl_h - 0.05), (tw / 2, -0.35 + d_tank, bowl_h + U(rng, 0.3, 0.4))))
    if rng.random() < 0.5:  # lid up, leaning on the tank
        lid = box((-r, 0.0, 0.0), (r, 0.02, r * sy * 1.9)).transformed(
            rot_x(-0.12), (0, -0.35 + d_tank + 0.01, bowl_h + 0.025)
        )
        b.add(C.TOILET, m, lid)
    return b.item("toilet")


def washbasin(rng: np.random.Generator) -> Item:
    """A pedestal sink, or a vanity: cabinet + counter top + basin."""
    b = Builder()
    porcelain = light_solid(rng, 0.75, 0.97)
    if rng.random() < 0.45:
        w, d, h = U(rng, 0.45, 0.65), U(rng, 0.38, 0.5), U(rng, 0.8, 0.88)
        b.add(C.SINK, porcelain, frustum(0.09, 0.07, h - 0.15, base=(0, -0.05, 0.0), segments=14))
        x0, x1, y0, y1 = -w / 2, w / 2, -d / 2, d / 2
        b.add(
            C.SINK, porcelain, *_top_with_hole(x0, x1, y0, y1, h - 0.15, h, x0 + 0.05, x1 - 0.05, y0 + 0.08, y1 - 0.05)
        )
        b.add(C.SINK, porcelain, *_basin(C.SINK, porcelain, x0 + 0.05, x1 - 0.05, y0 + 0.08, y1 - 0.05, h, 0.13))
        b.add(C.SINK, metal(rng), *_faucet(porcelain, 0.0, y0 + 0.04, h))
        return b.item("pedestal-sink")
    w, d, h = U(rng, 0.6, 1.2), U(rng, 0.45, 0.55), U(rng, 0.8, 0.88)
    body = random_material(rng) if rng.random() < 0.6 else light_solid(rng, 0.4, 0.9)
    sw, sd = min(0.5, w - 0.15), d - 0.18
    hx0, hx1, hy0, hy1 = -sw / 2, sw / 2, -d / 2 + 0.1, -d / 2 + 0.1 + sd
    b.add(
        C.CABINET,
        body,
        *_body_with_well(-w / 2, w / 2, -d / 2, d / 2 - 0.03, 0.0, h - 0.03, hx0, hx1, hy0, hy1, h - 0.17),
    )
    b.add(C.CABINET, body, box((-w / 2 + 0.01, d / 2 - 0.03, 0.08), (w / 2 - 0.01, d / 2 - 0.01, h - 0.04)))
    top = random_material(rng, ("solid", "tiles")) if rng.random() < 0.5 else light_solid(rng, 0.5, 0.95)
    b.add(C.COUNTER, top, *_top_with_hole(-w / 2, w / 2, -d / 2, d / 2, h - 0.03, h, hx0, hx1, hy0, hy1))
    b.add(C.SINK, porcelain, *_basin(C.SINK, porcelain, hx0, hx1, hy0, hy1, h, 0.14))
    b.add(C.SINK, metal(rng), *_faucet(porcelain, 0.0, hy0 - 0.05, h))
    return b.item("vanity")


def bathtub(rng: np.random.Generator, curtain: bool | None = None) -> Item:
    """A tub (outer shell, rim, inner floor), often with a shower curtain on a rod above its open side."""
    b = Builder()
    length, w, h = U(rng, 1.5, 1.75), U(rng, 0.7, 0.82), U(rng, 0.5, 0.6)
    m = light_solid(rng, 0.75, 0.97) if rng.random() < 0.8 else random_material(rng, ("solid",))
    t = U(rng, 0.06, 0.1)
    x0, x1, y0, y1 = -length / 2, length / 2, -w / 2, w / 2
    b.add(
        C.BATHTUB,
        m,
        box((x0, y0, 0.0), (x1, y0 + t, h)),
        box((x0, y1 - t, 0.0), (x1, y1, h)),
        box((x0, y0 + t, 0.0), (x0 + t, y1 - t, h)),
        box((x1 - t, y0 + t, 0.0), (x1, y1 - t, h)),
        box((x0 + t, y0 + t, 0.0), (x1 - t, y1 - t, U(rng, 0.08, 0.15))),
    )
    if curtain if curtain is not None else rng.random() < 0.6:
        # the curtain hangs inside the tub, just inboard of its front wall, so it clears the rim
        rod_z = U(rng, 1.85, 2.0)
        yc = y1 - t - 0.09
        b.add(C.SHOWER_CURTAIN, metal(rng), box((x0, yc + 0.05, rod_z - 0.012), (x1, yc + 0.075, rod_z + 0.012)))
        cover = U(rng, 0.25, 1.0) * (length - 2 * t - 0.02)
        start = x0 + t + 0.01 if rng.random() < 0.5 else x1 - t - 0.01 - cover
        cm = random_material(rng, ("fabric", "stripes", "checker", "solid"))
        bottom = U(rng, 0.25, 0.5)
        panel = wavy_panel(
            cover,
            rod_z - 0.03 - bottom,
            U(rng, 0.04, 0.07),
            cover / U(rng, 0.1, 0.18),
            segments=max(24, int(cover * 50)),
            z0=bottom,
        )
        b.add(C.SHOWER_CURTAIN, cm, panel.transformed(None, (start + cover / 2, yc, 0.0)))
    return b.item("bathtub")
