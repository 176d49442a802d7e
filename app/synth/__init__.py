"""Synthetic RGB-D rooms for training and demos without downloads (`sgnet synth`).

Modules, one job each:
  geometry      triangle-mesh primitives, oriented boxes, polygon tests
  noise         hash-based 2D value noise and fbm, pure functions of (x, y, seed)
  textures      Material and its per-pixel patterns (wood, fabric, stripes, checker, tiles, noisy solids)
  materials     the material catalogue: the shared random pool, paints, metal, glass, screens, mirrors...
  parts         Part / Item / Surface: labelled meshes grouped into placeable objects
  furniture     floor furniture (chairs, tables, beds, sofas, shelves with books, lamps...)
  kitchen_bath  counters with sinks, toilets, washbasins, bathtubs with shower curtains
  wall_items    doors, windows with blinds or curtains, pictures, whiteboards, mirrors...
  placement     collision-free placement (rejection sampling of oriented footprints)
  shell         the empty room: outline (rectangle or L), walls, floor, ceiling, doors and windows
  furnishing    what furniture each room type gets and where; clutter, wall decor, things on tops
  rooms         whole rooms with their lights; `generate_room(seed, index)`, `shell_room`
  camera        camera poses and fly-through paths
  renderer      Open3D ray casting: depth, labels, shaded colour with cast shadows
  sensor        RealSense-like depth noise and holes; colour camera pipeline
  dataset       the NYUDv2-style writer (`synthesize`)
  recording     librealsense recordings via software_device + recorder, and replay
  preview       contact sheets (colour | depth | labels)

The names below are imported lazily so `import app.synth.classes` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "SynthConfig": "app.synth.dataset",
    "synthesize": "app.synth.dataset",
    "fly_through_frames": "app.synth.dataset",
    "render_room_frames": "app.synth.dataset",
    "generate_room": "app.synth.rooms",
    "shell_room": "app.synth.rooms",
    "Room": "app.synth.rooms",
    "ROOM_TYPES": "app.synth.rooms",
    "RoomRenderer": "app.synth.renderer",
    "CameraPose": "app.synth.camera",
    "make_intrinsics": "app.synth.camera",
    "RecordingWriter": "app.synth.recording",
    "read_recording": "app.synth.recording",
    "C": "app.synth.classes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'app.synth' has no attribute {name!r}")
