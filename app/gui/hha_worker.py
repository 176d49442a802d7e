"""HHA (disparity, height, angle) of the shown frame, computed off the GUI thread.

`hha.depth_to_hha` costs ~100 ms per 320x240 frame on a CPU, so the window only asks for
it while the HHA view is selected, and only for the newest frame: requests made while
one is being computed replace each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.gui.mailbox import LatestSlot
from sgnet.frames import RGBDFrame


@dataclass(frozen=True)
class HhaImage:
    frame_index: int
    rgb: np.ndarray  # uint8 HxWx3: R = disparity, G = height, B = angle


def frame_hha(frame: RGBDFrame) -> np.ndarray:
    """HHA of one frame as an HxWx3 uint8 image (channel order disparity, height, angle); gravity
    from the camera's IMU when the frame carries it, else estimated from the depth image."""
    import torch

    import hha

    depth = torch.from_numpy(frame.depth_m())
    out = hha.depth_to_hha(depth, frame.intrinsics, gravity=frame.gravity)
    return np.ascontiguousarray(out.permute(1, 2, 0).cpu().numpy())


class HhaWorker:
    def __init__(self, on_image: Callable[[HhaImage], None], on_error: Callable[[str], None]) -> None:
        self.on_image = on_image
        self.on_error = on_error
        self._slot: LatestSlot[RGBDFrame] = LatestSlot()
        self._thread = threading.Thread(target=self._run, name="sgnet-hha", daemon=True)
        self._started = False

    def request(self, frame: RGBDFrame) -> None:
        if not self._started:
            self._started = True
            self._thread.start()
        self._slot.put(frame)

    def close(self, timeout_s: float = 5.0) -> None:
        self._slot.close()
        if self._started:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._slot.closed:
            frame = self._slot.wait(0.2)
            if frame is None:
                continue
            try:
                self.on_image(HhaImage(frame.index, frame_hha(frame)))
            except Exception as e:  # noqa: BLE001 - shown in the status bar, the view falls back
                self.on_error(f"HHA failed: {type(e).__name__}: {e}")
