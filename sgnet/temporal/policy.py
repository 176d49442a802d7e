"""When to run the network again: every N-th frame, or `auto`.

`auto` carries the keyframe forward while the carried result stays good and takes a new keyframe
at the first frame where any of these holds (each measured on the model grid, after propagation,
so the frame that trips it is itself segmented by the network):
- too much of the frame has no carried prediction (`max_invalid`: the share of pixels that were
  not visible in the keyframe — disocclusion, out of view, no depth — and that the refinement
  could not fill from a neighbour);
- the camera moved too far (`max_motion`, mean displacement of the valid pixels since the keyframe
  as a share of the frame width: resampling blurs, and new surfaces come into view);
- the carried confidence dropped (`max_confidence_drop`, the keyframe's mean confidence minus the
  propagated frame's, both as `Segmentation.confidence` reports it);
- the tracker lost the camera (odometry without enough points);
- `max_interval` frames have passed since the keyframe.
"""

from __future__ import annotations

from dataclasses import dataclass

from sgnet.errors import SGNetUserError

AUTO = "auto"


@dataclass(frozen=True)
class KeyframePolicy:
    """interval: every N-th frame is a keyframe (None = auto, with the thresholds below)."""

    interval: int | None = 3
    max_interval: int = 6
    max_invalid: float = 0.08
    max_motion: float = 0.06
    max_confidence_drop: float = 0.04

    def __post_init__(self) -> None:
        if self.interval is not None and self.interval < 1:
            raise SGNetUserError(f"the keyframe interval must be at least 1, got {self.interval}")
        if self.max_interval < 1:
            raise SGNetUserError(f"max_interval must be at least 1, got {self.max_interval}")

    @property
    def auto(self) -> bool:
        return self.interval is None

    def due(self, since_key: int) -> bool:
        """A keyframe regardless of how good the propagation is (`since_key` frames after the last one)."""
        limit = self.max_interval if self.interval is None else self.interval
        return since_key >= limit

    def why_new(self, invalid: float, motion: float, confidence_drop: float) -> str | None:
        """For auto: the reason this propagated frame should be a keyframe instead, None to keep it."""
        if self.interval is not None:
            return None
        if invalid > self.max_invalid:
            return "invalid"
        if motion > self.max_motion:
            return "motion"
        if confidence_drop > self.max_confidence_drop:
            return "confidence"
        return None


def parse_interval(text: str, option: str = "--keyframe-interval") -> int | None:
    """"3" -> 3, "auto" -> None; anything else is one line naming the option and what it takes."""
    value = str(text).strip().lower()
    if value == AUTO:
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1 or str(n) != value.lstrip("+"):
        raise SGNetUserError(f"{option} must be a whole number of frames (1 = every frame through the network) "
                             f"or 'auto', got {text!r}")
    return n
