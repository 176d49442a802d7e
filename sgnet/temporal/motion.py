"""How the camera moved since the keyframe: two trackers with one face.

Both run OpenCV's DIS optical flow (ultrafast preset) between *consecutive* frames on a reduced
grey image (the flow grid, about 160 px wide, where one step costs well under a millisecond):
measured on rendered fly-throughs, DIS follows a one-frame step to about half a flow-grid pixel
but loses a three-frame jump (docs/video.md), so motion is chained frame by frame, never
computed from the keyframe directly.

- `FlowTracker` chains the flow itself: a map of where every flow-grid pixel was in the keyframe,
  carried along each step; a pixel whose forward and backward flows disagree (occluded or
  disoccluded) or that comes from outside the image is invalid from then on.
- `ReprojectionTracker` uses the flow only for the camera motion: RGB-D odometry from the sparse
  3D (this frame's depth) to 2D (the previous frame) correspondences (`cv2.solvePnPRansac`),
  chained into the pose keyframe <- now; then every pixel with depth is moved in 3D into the
  keyframe and kept only when the keyframe saw that surface (depth test), so disocclusions, pixels
  out of view and pixels without depth are invalid.

`track(view)` returns a `Correspondence` for the model grid of the current frame (frame coordinates
in the keyframe and in the previous frame, validity of each); `keyframe(view)` restarts the chain
at the current frame. A tracker that cannot follow (too few points for the pose) says `lost`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sgnet.temporal.geometry import (
    backproject,
    depth_agrees,
    frame_to_grid,
    grid_to_frame,
    inside,
    model_grid,
    reproject,
    sample_map,
)

FLOW_WIDTH = 160  # flow grid width (the height keeps the frame's aspect ratio)
FB_TOLERANCE = 2.0  # flow-grid pixels of forward-backward disagreement still called consistent (1.0 marked
# 12 % more pixels invalid after three frames on rendered walks for the same accuracy on the rest)
PNP_STRIDE = 8  # flow-grid pixels between the odometry's sample points (300 at 160x120)
PNP_MIN_POINTS = 24


@dataclass(frozen=True)
class View:
    """One frame as the trackers see it (made once per frame by `make_view`)."""

    gray: np.ndarray  # uint8 (hf, wf): the flow grid
    depth_m: np.ndarray  # float32 (H, W) metres, 0 = none (the full frame)
    grid_depth: np.ndarray  # float32 (h, w) metres at the model grid's pixels (nearest)
    k: np.ndarray  # 3x3 camera matrix of the frame
    size: tuple[int, int]  # (H, W) of the frame
    grid: tuple[int, int]  # (h, w) of the model grid


def make_view(color: np.ndarray, depth_m: np.ndarray, k: np.ndarray, grid: tuple[int, int]) -> View:
    """The flow grid image (grey, area-averaged) and the depths the trackers need."""
    import cv2

    height, width = depth_m.shape
    wf = min(FLOW_WIDTH, width)
    hf = max(8, round(height * wf / width))
    gray = cv2.resize(cv2.cvtColor(color, cv2.COLOR_RGB2GRAY), (wf, hf), interpolation=cv2.INTER_AREA)
    xs, ys = model_grid(height, width, *grid)
    gd = depth_m[np.rint(ys).astype(np.intp)[:, None], np.rint(xs).astype(np.intp)[None, :]]
    return View(gray, depth_m, gd.astype(np.float32), k, (height, width), grid)


@dataclass(frozen=True)
class Correspondence:
    """Where the current frame's model-grid pixels were: `source` (h, w, 2) frame coordinates in the
    keyframe with `valid`; `previous`/`previous_valid` the same for the frame before (for smoothing;
    None unless the tracker was made with `previous=True`);
    `lost`: the tracker could not follow (the caller takes a keyframe)."""

    source: np.ndarray
    valid: np.ndarray
    previous: np.ndarray | None
    previous_valid: np.ndarray | None
    lost: bool = False

    @property
    def invalid_share(self) -> float:
        return float(1.0 - self.valid.mean())

    def motion_px(self, view: View) -> float:
        """Mean distance (frame pixels) between where the valid pixels are now and were in the keyframe."""
        xs, ys = model_grid(*view.size, *view.grid)
        d = np.hypot(self.source[..., 0] - xs[None, :], self.source[..., 1] - ys[:, None])
        return float(d[self.valid].mean()) if self.valid.any() else float("inf")


class _Tracker:
    """Shared flow step: DIS from this frame to the previous one on the flow grid."""

    def __init__(self, previous: bool = False) -> None:
        import cv2

        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.prev: View | None = None
        self.previous = previous  # also map each pixel into the previous frame (smoothing)

    def _flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(hf, wf, 2) flow-grid displacement of each pixel of a to its position in b."""
        return self._dis.calc(a, b, None)

    def _grid_positions(self, view: View) -> tuple[np.ndarray, np.ndarray]:
        """The model grid's pixels in flow-grid coordinates, (h, w) each."""
        (height, width), (hf, wf) = view.size, view.gray.shape
        xs, ys = model_grid(height, width, *view.grid)
        gx = np.broadcast_to(frame_to_grid(xs, width, wf)[None, :], view.grid)
        gy = np.broadcast_to(frame_to_grid(ys, height, hf)[:, None], view.grid)
        return np.ascontiguousarray(gx), np.ascontiguousarray(gy)

    def _previous_from_flow(self, view: View, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model grid -> frame coordinates in the previous frame along the flow (smoothing's map)."""
        (height, width), (hf, wf) = view.size, view.gray.shape
        gx, gy = self._grid_positions(view)
        f = sample_map(flow, gx, gy)
        px = grid_to_frame(gx + f[..., 0], width, wf)
        py = grid_to_frame(gy + f[..., 1], height, hf)
        return np.stack([px, py], -1), inside(px, py, width, height)

    def keyframe(self, view: View) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def track(self, view: View) -> Correspondence:  # pragma: no cover - overridden
        raise NotImplementedError


class FlowTracker(_Tracker):
    """Chained dense optical flow (module docstring)."""

    name = "flow"

    def keyframe(self, view: View) -> None:
        (height, width), (hf, wf) = view.size, view.gray.shape
        jx = grid_to_frame(np.arange(wf, dtype=np.float32), width, wf)
        jy = grid_to_frame(np.arange(hf, dtype=np.float32), height, hf)
        self._map = np.stack(np.meshgrid(jx, jy), -1).astype(np.float32)  # frame coords in the keyframe
        self._valid = np.ones((hf, wf), np.uint8)
        self.prev = view

    def track(self, view: View) -> Correspondence:
        assert self.prev is not None, "keyframe() first"
        back = self._flow(view.gray, self.prev.gray)  # now -> previous
        fwd = self._flow(self.prev.gray, view.gray)
        hf, wf = view.gray.shape
        jx, jy = np.meshgrid(np.arange(wf, dtype=np.float32), np.arange(hf, dtype=np.float32))
        px, py = jx + back[..., 0], jy + back[..., 1]
        round_trip = back + sample_map(fwd, px, py)
        consistent = np.hypot(round_trip[..., 0], round_trip[..., 1]) <= FB_TOLERANCE
        on_image = (px >= -0.5) & (px <= wf - 0.5) & (py >= -0.5) & (py <= hf - 0.5)
        self._map = sample_map(self._map, px, py)
        self._valid = (sample_map(self._valid, px, py, nearest=True) > 0) & consistent & on_image
        self._valid = self._valid.astype(np.uint8)
        gx, gy = self._grid_positions(view)
        source = sample_map(self._map, gx, gy)
        valid = sample_map(self._valid, gx, gy, nearest=True) > 0
        previous, previous_valid = self._previous_from_flow(view, back) if self.previous else (None, None)
        self.prev = view
        return Correspondence(source, valid, previous, previous_valid)


class ReprojectionTracker(_Tracker):
    """RGB-D odometry and a 3D reprojection through depth (module docstring)."""

    name = "reproject"

    def keyframe(self, view: View) -> None:
        self._key = view
        self._pose = np.eye(4)  # keyframe <- current camera
        self.prev = view

    def track(self, view: View) -> Correspondence:
        assert self.prev is not None, "keyframe() first"
        back = self._flow(view.gray, self.prev.gray)
        step = self._odometry(view, back)  # previous <- current
        if step is None:
            self.prev = view
            empty = np.zeros(view.grid, bool)
            zeros = np.zeros((*view.grid, 2), np.float32)
            return Correspondence(zeros, empty, zeros, empty, lost=True)
        self._pose = self._pose @ step
        source, valid = self._into(view, self._key, self._pose)
        previous, previous_valid = self._into(view, self.prev, step) if self.previous else (None, None)
        self.prev = view
        return Correspondence(source, valid, previous, previous_valid)

    @staticmethod
    def _into(view: View, other: View, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model grid -> frame coordinates in `other` through depth and `pose` (other <- view)."""
        xs, ys = model_grid(*view.size, *view.grid)
        x, y, z = reproject(backproject(view.grid_depth, xs, ys, view.k), pose, other.k)
        height, width = other.size
        seen = sample_map(other.depth_m, x, y, nearest=True)
        valid = (view.grid_depth > 0) & inside(x, y, width, height) & depth_agrees(z, seen)
        return np.stack([x, y], -1), valid

    def _odometry(self, view: View, back: np.ndarray) -> np.ndarray | None:
        """previous <- current 4x4 from the flow's sparse correspondences and this frame's depth."""
        import cv2

        (height, width), (hf, wf) = view.size, view.gray.shape
        jy, jx = np.mgrid[PNP_STRIDE // 2 : hf : PNP_STRIDE, PNP_STRIDE // 2 : wf : PNP_STRIDE]
        jx, jy = jx.ravel(), jy.ravel()
        fx = grid_to_frame(jx.astype(np.float32), width, wf)
        fy = grid_to_frame(jy.astype(np.float32), height, hf)
        z = view.depth_m[np.rint(fy).astype(np.intp), np.rint(fx).astype(np.intp)]
        ok = z > 0
        if ok.sum() < PNP_MIN_POINTS:
            return None
        k = view.k
        pts3 = np.stack([(fx - k[0, 2]) / k[0, 0] * z, (fy - k[1, 2]) / k[1, 1] * z, z], 1)[ok]
        f = back[jy, jx][ok]
        pts2 = np.stack([grid_to_frame(jx[ok] + f[:, 0], width, wf), grid_to_frame(jy[ok] + f[:, 1], height, hf)], 1)
        found, rvec, tvec, inliers = cv2.solvePnPRansac(
            pts3.astype(np.float64), pts2.astype(np.float64), self.prev.k.astype(np.float64), None,
            iterationsCount=30, reprojectionError=2.0 * width / wf, confidence=0.99, flags=cv2.SOLVEPNP_ITERATIVE,
        )
        if not found or inliers is None or len(inliers) < PNP_MIN_POINTS // 2:
            return None
        pose = np.eye(4)
        pose[:3, :3] = cv2.Rodrigues(rvec)[0]
        pose[:3, 3] = tvec.ravel()
        return pose


TRACKERS = {"flow": FlowTracker, "reproject": ReprojectionTracker}
