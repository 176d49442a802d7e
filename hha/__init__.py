"""Depth -> spatial features as batched torch ops on any device: xyz (metres) and HHA.

Imports nothing of the project (see docs/hha.md for conventions and figures).
"""

from hha.camera import NYU_INTRINSICS
from hha.encode import HHAResult, depth_to_hha, depth_to_hha_full, surface_normals
from hha.gravity import estimate_gravity
from hha.xyz import depth_to_xyz, nyu_official_xyz

__all__ = [
    "NYU_INTRINSICS",
    "HHAResult",
    "depth_to_hha",
    "depth_to_hha_full",
    "depth_to_xyz",
    "estimate_gravity",
    "nyu_official_xyz",
    "surface_normals",
]
