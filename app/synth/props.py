"""Everyday things that real rooms are full of and v0.1 rooms lacked: keyboards, PC towers,
printers, microwaves, kettles, paper, waste bins and clothes.

In real labelled frames (NYUv2's offices and kitchens) such clutter is a quarter of the pixels
(the NYUv2-13 class "objects"); a model that never saw it calls a printer a cabinet and a pile
of paper a table. They are plain boxes and turned shapes in plastic colours, like the rest of
the generator's furniture, labelled with their NYUv2-40 class.

`dress_props(furnisher, rng)` runs after a room is furnished and draws only from its own
generator, so a room with props is the same room as without them plus the props.
"""

from __future__ import annotations

import numpy as np

from app.synth.classes import C
from app.synth.furniture import U, slab_pile
from app.synth.geometry import box, ellipsoid, frustum
from app.synth.materials import hsv, light_solid, metal, random_material, random_seed
from app.synth.parts import Builder, Item
from app.synth.textures import SOLID, Material


def plastic(rng: np.random.Generator) -> Material:
    """Appliance casings: black, grey, white or beige, rarely a colour."""
    r = rng.random()
    if r < 0.35:
        c = hsv(0.0, 0.0, U(rng, 0.05, 0.2))
    elif r < 0.6:
        c = hsv(0.0, 0.0, U(rng, 0.35, 0.7))
    elif r < 0.85:
        c = hsv(U(rng, 0.08, 0.14), U(rng, 0.0, 0.15), U(rng, 0.7, 0.92))
    else:
        c = hsv(rng.random(), U(rng, 0.3, 0.7), U(rng, 0.3, 0.8))
    return Material(SOLID, c, c, scale=8.0, noise=0.03, seed=random_seed(rng), name="plastic")


def _casing(rng: np.random.Generator, width, depth, height) -> tuple[Builder, float, float, float]:
    """A builder holding an appliance's plastic box (sizes drawn from the (lo, hi) ranges), and its size."""
    b = Builder()
    w, d, h = U(rng, *width), U(rng, *depth), U(rng, *height)
    b.add(C.OTHERPROP, plastic(rng), box((-w / 2, -d / 2, 0.0), (w / 2, d / 2, h)))
    return b, w, d, h


def keyboard(rng: np.random.Generator) -> Item:
    b, _, _, _ = _casing(rng, (0.36, 0.46), (0.12, 0.17), (0.02, 0.035))
    return b.item("keyboard", faces_parent=True)


def pc_tower(rng: np.random.Generator) -> Item:
    """A desktop computer case: tall and narrow, a darker front panel."""
    b, w, d, h = _casing(rng, (0.17, 0.23), (0.38, 0.5), (0.36, 0.5))
    b.add(C.OTHERPROP, metal(rng), box((-w / 2 + 0.01, d / 2, 0.02), (w / 2 - 0.01, d / 2 + 0.01, h - 0.02)))
    return b.item("pc-tower")


def printer(rng: np.random.Generator) -> Item:
    """A desktop printer or copier: a box with a paper tray out front and an output slot on top."""
    b, w, d, h = _casing(rng, (0.38, 0.55), (0.32, 0.48), (0.18, 0.42))
    tray = U(rng, 0.05, 0.12)
    b.add(C.OTHERPROP, metal(rng), box((-w / 2 + 0.05, d / 2, 0.03), (w / 2 - 0.05, d / 2 + tray, 0.06)))
    b.add(C.PAPER, light_solid(rng, 0.85, 0.97), box((-0.105, -d / 4, h), (0.105, d / 4, h + 0.01)))
    return b.item("printer")


def microwave(rng: np.random.Generator) -> Item:
    """A microwave: a box with a dark glass door and a control strip on the right."""
    b, w, d, h = _casing(rng, (0.44, 0.56), (0.32, 0.42), (0.25, 0.33))
    glass = hsv(0.0, 0.0, U(rng, 0.02, 0.1))
    door = Material(SOLID, glass, glass, scale=4.0, noise=0.05, seed=random_seed(rng), mirror=0.1, name="door")
    b.add(C.OTHERPROP, door, box((-w / 2 + 0.04, d / 2, 0.04), (w / 2 - 0.14, d / 2 + 0.005, h - 0.04)))
    return b.item("microwave", faces_parent=True)


def kettle(rng: np.random.Generator) -> Item:
    """Kettles, coffee makers, toasters: small appliances on counters."""
    b = Builder()
    m = plastic(rng) if rng.random() < 0.7 else metal(rng)
    if rng.random() < 0.5:
        r, h = U(rng, 0.07, 0.1), U(rng, 0.18, 0.28)
        b.add(C.OTHERPROP, m, frustum(r, r * 0.8, h, segments=14))
    else:
        w, d, h = U(rng, 0.15, 0.3), U(rng, 0.15, 0.28), U(rng, 0.18, 0.38)
        b.add(C.OTHERPROP, m, box((-w / 2, -d / 2, 0.0), (w / 2, d / 2, h)))
    return b.item("kettle")


def paper_stack(rng: np.random.Generator) -> Item:
    """Sheets, folders and notepads: thin, mostly white, a little askew."""
    return slab_pile(
        rng, C.PAPER, "paper", (1, 4), (0.2, 0.32), (0.2, 0.3), (0.003, 0.03), 0.3,
        lambda g: light_solid(g, 0.8, 0.97) if g.random() < 0.75 else random_material(g, ("solid",)),
    )


def waste_bin(rng: np.random.Generator) -> Item:
    b = Builder()
    r, h = U(rng, 0.11, 0.2), U(rng, 0.28, 0.5)
    b.add(C.OTHERPROP, plastic(rng) if rng.random() < 0.7 else metal(rng), frustum(r * 0.8, r, h, segments=16))
    return b.item("bin")


def clothes(rng: np.random.Generator) -> Item:
    """A heap of clothes or a folded pile: a soft, flattened blob of fabric."""
    b = Builder()
    w, d, h = U(rng, 0.25, 0.55), U(rng, 0.2, 0.45), U(rng, 0.05, 0.18)
    mat = random_material(rng, ("fabric", "solid", "stripes"))
    b.add(C.CLOTHES, mat, ellipsoid((w / 2, d / 2, h / 2), center=(0, 0, h / 2), squareness=0.5, segments=14, rings=6))
    return b.item("clothes")


def copier(rng: np.random.Generator) -> Item:
    """An office copier or printer on its stand: waist high, on the floor."""
    b, w, d, h = _casing(rng, (0.5, 0.7), (0.5, 0.65), (0.8, 1.15))
    b.add(C.OTHERPROP, metal(rng), box((-w / 2, -d / 2, h), (w / 2, d / 2 - 0.1, h + 0.05)))
    b.add(C.OTHERPROP, metal(rng), box((-w / 2 + 0.04, d / 2, 0.1), (w / 2 - 0.04, d / 2 + 0.01, h * 0.6)))
    return b.item("copier")


# surface kind -> (factory, chance) tries per surface; "*" is every surface not listed
_ON_SURFACES = {
    "desk": ((keyboard, 0.8), (paper_stack, 0.7), (paper_stack, 0.5), (pc_tower, 0.35), (printer, 0.2),
             (kettle, 0.15)),
    "counter": ((microwave, 0.6), (kettle, 0.7), (kettle, 0.5), (kettle, 0.3), (paper_stack, 0.2)),
    "dresser": ((clothes, 0.4), (paper_stack, 0.3), (kettle, 0.1)),
    "night-stand": ((paper_stack, 0.35), (clothes, 0.15)),
    "filing-cabinet": ((printer, 0.4), (paper_stack, 0.5), (paper_stack, 0.3)),
    "*": ((paper_stack, 0.45), (paper_stack, 0.25), (kettle, 0.1), (clothes, 0.1)),
}
# room kind -> (factory, expected count on the floor); against a wall or free
_ON_FLOOR = {
    "office": ((waste_bin, 1.5), (pc_tower, 1.2), (copier, 0.4), (printer, 0.3)),
    "kitchen": ((waste_bin, 1.0), (kettle, 0.3)),
    "bedroom": ((clothes, 1.5), (waste_bin, 0.5)),
    "living": ((waste_bin, 0.4), (clothes, 0.4)),
    "classroom": ((waste_bin, 1.0), (pc_tower, 0.5)),
    "bathroom": ((waste_bin, 0.8), (clothes, 0.4)),
}


def _surface_kind(kind: str) -> str:
    return next((k for k in _ON_SURFACES if k != "*" and (kind == k or kind.startswith(k))), "*")


def dress_props(r, rng: np.random.Generator, density: float = 1.0) -> None:
    """Props on the room's surfaces and floor, drawn from `rng` alone (the layout places them with
    it too, and gets its own generator back afterwards, so everything drawn after stays as it was).

    density > 1 gives each surface a second chance at every prop (at (density - 1) times its
    odds) and the floor `density` times its expected count; at 1 nothing extra is drawn, so the
    rooms stay byte-identical to those made before the option existed."""
    if density < 1.0:
        raise ValueError(f"props density must be at least 1, got {density}")
    with r.layout.drawing_from(rng):
        for pl in list(r.with_surfaces):
            if pl.item.kind == "wall-shelves":
                continue  # shelves are dressed with their own fillers
            for surf in pl.item.surfaces:
                if surf.max_height < 0.1:
                    continue
                for factory, p in _ON_SURFACES[_surface_kind(pl.item.kind)]:
                    if rng.random() < p:
                        r.layout.on_surface(factory(rng), pl, surf)
                    if density > 1.0 and rng.random() < p * (density - 1.0):
                        r.layout.on_surface(factory(rng), pl, surf)
        for factory, mean in _ON_FLOOR.get(r.kind, ()):
            for _ in range(int(rng.poisson(mean * density))):
                item = factory(rng)
                if rng.random() < 0.7:
                    r.layout.against_wall(item, tries=10)
                else:
                    r.layout.free(item, tries=10)


def room_prop_rng(seed: int, index: int) -> np.random.Generator:
    """The props' own generator for room `index` of `seed` (independent of the room's)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x960B5, int(index)])
