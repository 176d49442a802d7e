"""Is the depth in the units it claims to be? A cheap look at each frame that comes in.

Depth read in the wrong units runs without an error - `--depth-scale 1` on millimetre PNGs
puts the room 1500 m away, a float `.npy` in millimetres saturates the 16-bit units - and the
model then labels nonsense. Real indoor RGB-D depth has a median between a few decimetres and
a few metres and covers most of the image, so a frame whose valid depth has its median outside
0.2-15 m, sits mostly at the 16-bit limit, or covers less than half of the image is worth one
warning that names the likely fix. The median is taken over a strided subsample (about 20 000
pixels), so the check costs well under a millisecond at 640x480.

    >>> import numpy as np
    >>> mm = np.full((480, 640), 1500, np.uint16)        # 1.5 m in millimetres ...
    >>> c = check_depth(mm, depth_scale=1.0)               # ... read as metres
    >>> c.problem, c.suggested_scale
    ('too far', 0.001)
    >>> c.message()
    'median valid depth 1500 m: the depth is probably millimetres read as metres; try --depth-scale 0.001'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

PLAUSIBLE_M = (0.2, 15.0)  # the median valid depth of a real RGB-D frame lies in here
TYPICAL_M = 2.0  # where a suggested --depth-scale puts the median (in powers of ten)
MIN_VALID_SHARE = 0.5  # less than this share of pixels with depth: "mostly invalid"
SATURATED_SHARE = 0.5  # at least this share of the valid depth at 65535 units: "saturated"
SAMPLES = 20_000  # about this many pixels are looked at
UINT16_MAX = 65535

Problem = Literal["", "no depth", "saturated", "too far", "too near", "mostly invalid"]

_UNIT_NAMES = {1.0: "metres", 0.1: "decimetres", 0.01: "centimetres", 0.001: "millimetres",
               0.0001: "tenths of a millimetre"}


@dataclass(frozen=True)
class DepthCheck:
    """What one frame's depth looks like, and what is wrong with it ("" = nothing).

    median_m: median of the sampled valid (non-zero) depth in metres, None without any;
    valid_share: share of sampled pixels with depth; saturated_share: share of the valid
    samples at 65535 units; suggested_scale: a `--depth-scale` that brings the median near
    2 m (a power of ten times the current one), for "too far" / "too near".
    """

    problem: Problem
    depth_scale: float
    median_m: float | None
    valid_share: float
    saturated_share: float
    suggested_scale: float | None = None

    @property
    def ok(self) -> bool:
        return not self.problem

    def message(self, scale_option: bool = True, frame: int | None = None) -> str:
        """One line for the user. `scale_option`: whether `--depth-scale` applies to the source
        (folders, the demo); a camera or recording reports its own units. `frame`: named if given."""
        at = "" if frame is None else f" in frame {frame}"
        if self.problem == "no depth":
            return f"no pixel has depth{at} (all zero)"
        if self.problem == "saturated":
            limit = UINT16_MAX * self.depth_scale
            return (f"{self.saturated_share:.0%} of the valid depth{at} is at the 16-bit limit ({_num(limit)} m at "
                    f"{_num(self.depth_scale)} m per unit): the depth is far too large for its units; float depth "
                    "(.npy, .tiff) must be in metres (millimetres would have to be divided by 1000 first)")
        if self.problem in ("too far", "too near"):
            head = f"median valid depth {_num(self.median_m)} m{at}"
            if not scale_option or self.suggested_scale is None:
                return (f"{head} at the {_num(self.depth_scale)} m per unit the camera or recording reports: "
                        f"real scenes lie between {PLAUSIBLE_M[0]:g} and {PLAUSIBLE_M[1]:g} m; "
                        "labels will be unreliable")
            now, new = _UNIT_NAMES.get(self.depth_scale), _UNIT_NAMES.get(self.suggested_scale)
            why = (f"the depth is probably {new} read as {now}" if now and new
                   else f"the depth units are probably {_num(self.suggested_scale)} m, not {_num(self.depth_scale)} m")
            return f"{head}: {why}; try --depth-scale {_num(self.suggested_scale)}"
        if self.problem == "mostly invalid":
            return (f"only {self.valid_share:.0%} of the pixels have depth{at} (0 = none): labels are unreliable where "
                    "depth is missing; check the depth input (and --min/--max-distance, if given)")
        return ""


def check_depth(depth: np.ndarray, depth_scale: float, samples: int = SAMPLES) -> DepthCheck:
    """Check raw uint16 depth (HxW, 0 = no data) in units of `depth_scale` metres.

    depth: (H, W) uint16; looked at on a regular grid of about `samples` pixels.
    """
    if depth.ndim != 2:
        raise ValueError(f"depth must be HxW, got shape {depth.shape}")
    h, w = depth.shape
    step = max(1, int(math.sqrt(h * w / samples)))
    sample = depth[step // 2 :: step, step // 2 :: step].ravel()
    valid = sample[sample > 0]
    share = valid.size / max(sample.size, 1)
    if valid.size == 0:
        return DepthCheck("no depth", depth_scale, None, 0.0, 0.0)
    saturated = float(np.count_nonzero(valid == UINT16_MAX)) / valid.size
    median_m = float(np.median(valid)) * depth_scale
    if saturated >= SATURATED_SHARE:
        return DepthCheck("saturated", depth_scale, median_m, share, saturated)
    lo, hi = PLAUSIBLE_M
    if not lo <= median_m <= hi:
        factor = 10.0 ** round(math.log10(TYPICAL_M / median_m))
        suggested = float(f"{depth_scale * factor:.6g}")
        return DepthCheck("too far" if median_m > hi else "too near", depth_scale, median_m, share, saturated,
                          suggested)
    if share < MIN_VALID_SHARE:
        return DepthCheck("mostly invalid", depth_scale, median_m, share, saturated)
    return DepthCheck("", depth_scale, median_m, share, saturated)


def _num(v: float | None) -> str:
    """A number for people: 1500, 65.5, 0.15, 0.0001 (never 1e-04)."""
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 1:
        return f"{v:.3g}"
    return np.format_float_positional(float(f"{v:.2g}"), trim="-")


class DepthWatch:
    """Checks the frames of one run until it finds a problem, then stays quiet: one warning per
    run (`see` returns it once), kept in `warning` for the end-of-run summary."""

    def __init__(self, scale_option: bool = True) -> None:
        self.scale_option = scale_option
        self.warning = ""
        self.frame_index: int | None = None
        self.checked = 0

    def see(self, depth: np.ndarray, depth_scale: float, index: int) -> str:
        """The warning for this frame, once per run; "" otherwise. All-zero depth is left to the
        caller, which counts such a frame as bad."""
        if self.warning:
            return ""
        self.checked += 1
        result = check_depth(depth, depth_scale)
        if result.ok or result.problem == "no depth":
            return ""
        self.frame_index = index
        self.warning = result.message(self.scale_option, index)
        return self.warning
