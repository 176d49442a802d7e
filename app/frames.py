"""Compatibility: the frame types live in `sgnet.frames` (the library owns the type that flows,
so `sgnet` never imports the app). Import them from there in new code."""

from sgnet.frames import NO_PREDICTION, Intrinsics, RGBDFrame, Segmentation

__all__ = ["NO_PREDICTION", "Intrinsics", "RGBDFrame", "Segmentation"]
