"""The material catalogue: which colours and patterns surfaces get (paints, wood, fabric,
tiles, metal, glass, screens, mirrors, artwork, lamp shades).

Materials are drawn per object from one shared pool, so that a colour or a pattern alone
never tells the class (a chair may be striped, a wall wooden). Every draw comes from the
caller's generator, in a fixed order, so a seed gives the same materials every time.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import replace

import numpy as np

from app.synth.textures import CHECKER, FABRIC, SOLID, STRIPES, TILES, WOOD, WRITING, Material


def srgb_to_linear(c) -> tuple[float, float, float]:
    """sRGB (0..1) -> linear RGB: colours are picked perceptually, the renderer shades in linear light."""
    c = np.clip(np.asarray(c, np.float64), 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return (float(lin[0]), float(lin[1]), float(lin[2]))


def hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    """A linear-RGB colour from sRGB hue (wrapping), saturation and value."""
    return srgb_to_linear(colorsys.hsv_to_rgb(h % 1.0, s, v))


def random_color(rng: np.random.Generator, light: float | None = None) -> tuple[float, float, float]:
    """Any colour, mostly desaturated like real interiors; `light` pins the value (0..1)."""
    h = rng.random()
    s = float(rng.choice([rng.uniform(0.0, 0.15), rng.uniform(0.1, 0.5), rng.uniform(0.4, 0.9)], p=[0.4, 0.4, 0.2]))
    v = light if light is not None else float(rng.uniform(0.12, 0.95))
    return hsv(h, s, v)


def wood_colors(rng: np.random.Generator) -> tuple[tuple, tuple]:
    """Light and dark wood tones of one hue: the two colours the wood grain blends."""
    h = rng.uniform(0.03, 0.11)
    v = rng.uniform(0.25, 0.85)
    s = rng.uniform(0.35, 0.75)
    return hsv(h, s, v), hsv(h + rng.uniform(-0.015, 0.015), min(1.0, s * 1.15), v * rng.uniform(0.55, 0.8))


def random_seed(rng: np.random.Generator) -> int:
    """A texture seed: a non-negative int32, so that the noise hash sees it unchanged."""
    return int(rng.integers(0, 2**31 - 1))


# ------------------------------------------------------------------------------ the shared pool

# kind -> (pattern, scale range in cycles per metre, mottling range); a kind not listed is a solid
_POOL = {
    "wood": (WOOD, (6, 22), (0.02, 0.12)),
    "fabric": (FABRIC, (2, 12), (0.05, 0.2)),
    "stripes": (STRIPES, (2, 14), (0.02, 0.1)),
    "checker": (CHECKER, (2, 10), (0.02, 0.1)),
    "tiles": (TILES, (2.5, 8), (0.02, 0.1)),
    "solid": (SOLID, (1, 10), (0.02, 0.15)),
}


def _pool_colors(rng: np.random.Generator, kind: str) -> tuple[tuple, tuple]:
    """The two colours of a pool material: wood mostly wood-toned; grout and fabric blotches at any lightness."""
    if kind == "wood":
        return wood_colors(rng) if rng.random() < 0.8 else (random_color(rng), random_color(rng))
    c1 = random_color(rng)
    if kind == "fabric":
        return c1, random_color(rng, light=float(rng.uniform(0.1, 0.9)))
    if kind == "tiles":
        return c1, random_color(rng, light=float(rng.uniform(0.2, 0.9)))
    return c1, random_color(rng)


def random_material(rng: np.random.Generator, kinds: tuple[str, ...] | None = None, name: str = "") -> Material:
    """A random material from the shared pool (optionally restricted to some pattern kinds)."""
    kinds = kinds or ("solid", "solid", "wood", "wood", "fabric", "stripes", "checker", "tiles")
    kind = str(rng.choice(kinds))
    if kind not in _POOL:
        kind = "solid"
    angle = float(rng.choice([0.0, math.pi / 2])) + float(rng.normal(0, 0.05))
    c1, c2 = _pool_colors(rng, kind)
    pattern, scale, noise = _POOL[kind]
    return Material(
        pattern,
        c1,
        c2,
        scale=float(rng.uniform(*scale)),
        aspect=float(rng.choice([1.0, 1.0, 3.0, 6.0])) if kind == "tiles" else 1.0,  # long tiles, planks, bricks
        angle=angle,
        noise=float(rng.uniform(*noise)),
        seed=random_seed(rng),
        name=name or kind,
    )


def solid(color, noise: float = 0.05, seed: int = 0, **kw) -> Material:
    """A fixed plain colour (tests and calibration scenes, where the albedo must be known)."""
    return Material(SOLID, tuple(color), tuple(color), scale=4.0, noise=noise, seed=seed, **kw)


# ------------------------------------------------------------------------------ special-purpose materials


def metal(rng: np.random.Generator) -> Material:
    """Legs, frames, handles: grey to black, sometimes brass or white."""
    c = random_color(rng, light=float(rng.uniform(0.1, 0.8)))
    if rng.random() < 0.6:
        v = float(rng.uniform(0.08, 0.75))
        c = hsv(0.0, 0.0, v)
    return Material(SOLID, c, c, scale=20.0, noise=0.04, seed=random_seed(rng), name="metal")


def light_solid(rng: np.random.Generator, lo: float = 0.7, hi: float = 0.95) -> Material:
    """Whitish painted surfaces (ceilings, fridges, whiteboards, porcelain)."""
    c = hsv(rng.random(), float(rng.uniform(0.0, 0.08)), float(rng.uniform(lo, hi)))
    scale, noise = float(rng.uniform(1, 6)), float(rng.uniform(0.02, 0.06))
    return Material(SOLID, c, c, scale=scale, noise=noise, seed=random_seed(rng), name="light")


def cardboard(rng: np.random.Generator) -> Material:
    """Boxes: mostly brown cardboard, otherwise any pool material (printed or plastic boxes)."""
    if rng.random() < 0.6:
        c = hsv(rng.uniform(0.07, 0.11), rng.uniform(0.35, 0.6), rng.uniform(0.45, 0.75))
        return Material(SOLID, c, c, scale=6.0, noise=0.08, seed=random_seed(rng), name="cardboard")
    return random_material(rng)


def sky(rng: np.random.Generator) -> Material:
    """Window glass: bright daylight or a dim evening outside; stereo depth fails on it."""
    if rng.random() < 0.8:
        c1 = hsv(rng.uniform(0.53, 0.62), rng.uniform(0.05, 0.4), rng.uniform(0.75, 1.0))
        c2 = hsv(rng.uniform(0.2, 0.4), rng.uniform(0.2, 0.5), rng.uniform(0.4, 0.8))
        emission = float(rng.uniform(0.7, 1.0))
    else:
        c1 = hsv(rng.uniform(0.55, 0.7), rng.uniform(0.3, 0.6), rng.uniform(0.1, 0.3))
        c2 = hsv(rng.uniform(0.1, 0.15), rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.6))
        emission = float(rng.uniform(0.3, 0.6))
    return Material(
        SOLID,
        c1,
        c2,
        scale=float(rng.uniform(1, 3)),
        noise=float(rng.uniform(0.05, 0.3)),
        seed=random_seed(rng),
        emission=emission,
        depth_dropout=float(rng.uniform(0.5, 0.95)),
        name="glass",
    )


def screen(rng: np.random.Generator) -> Material:
    """A TV or monitor screen: mostly off (black, glossy), sometimes showing a picture."""
    if rng.random() < 0.7:
        c = hsv(rng.uniform(0.5, 0.7), rng.uniform(0.0, 0.3), rng.uniform(0.02, 0.08))
        return Material(
            SOLID,
            c,
            c,
            scale=3.0,
            noise=0.1,
            seed=random_seed(rng),
            mirror=0.12,
            depth_dropout=float(rng.uniform(0.0, 0.6)),
            name="screen-off",
        )
    m = random_material(rng, ("stripes", "checker", "solid", "fabric"))
    return replace(m, scale=m.scale * 2, noise=0.3, emission=0.9, name="screen-on")


def mirror_glass(rng: np.random.Generator) -> Material:
    """Mirrors: a faint tint, mostly reflective; stereo depth often fails on them."""
    c = hsv(rng.uniform(0.45, 0.6), rng.uniform(0.0, 0.1), rng.uniform(0.6, 0.85))
    seed, mirror, dropout = random_seed(rng), float(rng.uniform(0.75, 0.92)), float(rng.uniform(0.2, 0.8))
    return Material(SOLID, c, c, scale=2.0, noise=0.02, seed=seed, mirror=mirror, depth_dropout=dropout, name="mirror")


def artwork(rng: np.random.Generator) -> Material:
    """Picture canvases: saturated patterns or soft blotches."""
    kind = str(rng.choice(["stripes", "checker", "fabric", "solid", "tiles"]))
    m = random_material(rng, (kind,))
    c1 = hsv(rng.random(), rng.uniform(0.3, 1.0), rng.uniform(0.2, 1.0))
    c2 = hsv(rng.random(), rng.uniform(0.3, 1.0), rng.uniform(0.2, 1.0))
    return replace(
        m,
        color1=c1,
        color2=c2,
        scale=m.scale * float(rng.uniform(1.5, 5)),
        angle=float(rng.uniform(0, 3.2)),
        noise=float(rng.uniform(0.2, 0.6)),
        name="art",
    )


def lampshade(rng: np.random.Generator) -> Material:
    """A pool fabric, solid or stripes that glows when the lamp is on (half of them)."""
    m = random_material(rng, ("fabric", "solid", "stripes"))
    lit = rng.random() < 0.5
    return replace(m, emission=float(rng.uniform(0.3, 0.6)) if lit else 0.0, name="shade")


def _ink(rng: np.random.Generator) -> tuple[float, float, float]:
    """Marker or printer ink: mostly black or dark blue, sometimes red or green."""
    r = rng.random()
    if r < 0.45:
        return hsv(0.0, 0.0, float(rng.uniform(0.05, 0.25)))
    if r < 0.75:
        return hsv(float(rng.uniform(0.58, 0.68)), float(rng.uniform(0.5, 0.9)), float(rng.uniform(0.25, 0.55)))
    return hsv(float(rng.choice([0.0, 0.33])), float(rng.uniform(0.5, 0.9)), float(rng.uniform(0.35, 0.6)))


def _writing(rng: np.random.Generator, ground, scale: tuple, aspect: tuple, noise: tuple, name: str,
             mirror: tuple | None = None) -> Material:
    """Ink on a light ground (the `writing` pattern), its sizes drawn from the (lo, hi) ranges."""
    return Material(
        WRITING,
        ground,
        _ink(rng),
        scale=float(rng.uniform(*scale)),
        aspect=float(rng.uniform(*aspect)),
        noise=float(rng.uniform(*noise)),
        seed=random_seed(rng),
        mirror=float(rng.uniform(*mirror)) if mirror else 0.0,
        name=name,
    )


def written_board(rng: np.random.Generator) -> Material:
    """A used whiteboard: glossy white with marker writing in patches (real ones are rarely clean)."""
    ground = hsv(rng.random(), float(rng.uniform(0.0, 0.05)), float(rng.uniform(0.8, 0.97)))
    return _writing(rng, ground, (5, 14), (1.0, 3.0), (0.02, 0.08), "whiteboard", mirror=(0.03, 0.12))


def printed_paper(rng: np.random.Generator) -> Material:
    """A notice, form or flyer: white or pastel paper with lines of print."""
    v = float(rng.uniform(0.75, 0.97))
    pastel = rng.random() >= 0.75
    hue = rng.random()
    ground = hsv(hue, float(rng.uniform(0.15, 0.5) if pastel else rng.uniform(0.0, 0.08)), v)
    return _writing(rng, ground, (25, 60), (2.0, 5.0), (0.02, 0.06), "paper")
