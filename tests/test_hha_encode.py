"""hha.depth_to_hha on ray-cast scenes whose HHA can be worked out by hand.

Scenes are planes n . P = d in the camera frame (x right, y down, z forward). A floor under
a camera at height hc with gravity g is g . P = hc; its normal (away from the camera) is g,
so its angle is 0 deg (channel value 38), walls are at 90 deg (128), the height channel is
cm above the lowest point and the disparity channel is 31000 / max(z_cm, 100).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hha

H, W = 120, 160
F_PX = 130.0
CAM = (F_PX, F_PX, (W - 1) / 2, (H - 1) / 2)  # 0-based principal point at the image centre


def rays(cam=CAM, h=H, w=W) -> np.ndarray:
    fx, fy, cx, cy = cam
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    return np.stack(((u - cx) / fx, (v - cy) / fy, np.ones_like(u)), axis=-1)  # z = 1


def render(planes, cam=CAM, h=H, w=W) -> torch.Tensor:
    """Depth (float32 metres) of the nearest plane n . P = d along each pixel's ray; 0 = nothing."""
    r = rays(cam, h, w)
    depth = np.full((h, w), np.inf)
    for n, d in planes:
        denom = r @ np.asarray(n, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(denom > 1e-9, d / denom, np.inf)
        depth = np.minimum(depth, t)
    depth[~np.isfinite(depth)] = 0.0
    return torch.from_numpy(depth.astype(np.float32))


def down_vector(pitch_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """Gravity in the camera frame for a camera pitched down by `pitch` and rolled by `roll`."""
    p, r = math.radians(pitch_deg), math.radians(roll_deg)
    g = np.array([0.0, math.cos(p), math.sin(p)])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ g


def forward_vector(pitch_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """The horizontal viewing direction (perpendicular to gravity) in the camera frame."""
    p, r = math.radians(pitch_deg), math.radians(roll_deg)
    f = np.array([0.0, -math.sin(p), math.cos(p)])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ f


def away_from_edges(mask: np.ndarray, margin: int = 4) -> np.ndarray:
    """Pixels of `mask` whose (2*margin+1)^2 neighbourhood lies inside the mask and the image."""
    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    k = 2 * margin + 1
    inside = -torch.nn.functional.max_pool2d(-t, k, stride=1, padding=margin)
    out = inside[0, 0].numpy() > 0.5
    out[:margin] = out[-margin:] = False
    out[:, :margin] = out[:, -margin:] = False
    return out


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(min(1.0, abs(float(np.dot(a, b))) / np.linalg.norm(a) / np.linalg.norm(b))))


def test_tilted_floor_gives_angle_zero_and_height_zero():
    g = down_vector(40.0)
    depth = render([(g, 1.2)])
    assert (depth > 0).all()  # the whole view is floor
    res = hha.depth_to_hha_full(depth, CAM)
    assert res.hha.shape == (3, H, W) and res.hha.dtype == torch.uint8
    assert angle_deg(res.gravity.numpy(), g) < 0.05
    ang = res.hha[2].int()
    assert (ang - 38).abs().max() <= 1
    assert (ang == 38).float().mean() > 0.99
    # floor at 120 cm below the camera is the lowest point: height 0 everywhere
    assert float(res.floor_cm) == pytest.approx(-120.0, abs=0.05)
    assert res.hha[1].max() == 0
    torch.testing.assert_close(res.normals[:, 60, 80].double(), torch.from_numpy(g), atol=1e-4, rtol=0)
    expected_disp = np.minimum(np.rint(31000.0 / np.maximum(depth.numpy().astype(np.float64) * 100, 100)), 255)
    assert np.abs(res.hha[0].numpy().astype(int) - expected_disp).max() <= 1


def test_camera_close_to_the_floor_assumes_130cm():
    # nothing more than 90 cm below the camera: the floor is assumed 130 cm below it
    g = down_vector(40.0)
    res = hha.depth_to_hha_full(render([(g, 0.5)]), CAM)
    assert float(res.floor_cm) == -130.0
    assert (res.hha[1].int() - 80).abs().max() <= 1  # -50 cm - (-130 cm)


def test_wall_at_known_distance_gives_known_disparity():
    for z, level in [(2.0, 155), (5.0, 62), (0.8, 255), (1.1, 255)]:
        res = hha.depth_to_hha(torch.full((40, 50), z), (50.0, 50.0, 24.5, 19.5))
        assert (res[0] == level).all(), (z, res[0].unique())


def floor_and_wall(pitch=0.0, roll=0.0, hc=1.0, wall=3.8, cam=CAM, h=H, w=W):
    g, f = down_vector(pitch, roll), forward_vector(pitch, roll)
    depth = render([(g, hc), (f, wall)], cam, h, w)
    p = depth.numpy()[..., None].astype(np.float64) * rays(cam, h, w)
    on_floor = np.abs(p @ g - hc) < 1e-4
    on_wall = np.abs(p @ f - wall) < 1e-4
    return depth, g, p, on_floor, on_wall


@pytest.mark.parametrize("pitch, roll", [(0.0, 0.0), (20.0, 10.0)])
def test_floor_and_wall_angles_heights_and_gravity(pitch, roll):
    depth, g, p, on_floor, on_wall = floor_and_wall(pitch, roll)
    assert on_floor.mean() > 0.2 and on_wall.mean() > 0.2
    res = hha.depth_to_hha_full(depth, CAM, gravity_stride=1)
    # The estimate is biased by the 21x21 windows straddling the floor/wall edge (about
    # 0.25 deg here; the reference algorithm has the same bias).
    assert angle_deg(res.gravity.numpy(), g) < 0.5
    out = res.hha.numpy().astype(int)
    floor_in, wall_in = away_from_edges(on_floor), away_from_edges(on_wall)
    assert np.abs(out[2][floor_in] - 38).max() <= 1
    assert np.abs(out[2][wall_in] - 128).max() <= 1
    # with the true gravity given: height above the floor (100 cm below the camera) by
    # hand, hc - g . P in cm, everywhere (edges included)
    known = hha.depth_to_hha(depth, CAM, gravity=torch.from_numpy(g)).numpy().astype(int)
    expected_h = np.minimum(np.rint(100 * (1.0 - p @ g)), 255)  # saturates above 2.55 m
    assert np.abs(known[1] - expected_h).max() <= 1
    assert np.abs(known[1][on_floor]).max() <= 1
    assert np.abs(out[1] - expected_h).max() <= 3  # and with the estimate


def test_default_gravity_stride_is_close_to_full_estimate():
    depth, *_ = floor_and_wall(15.0, -5.0)
    full = hha.depth_to_hha_full(depth, CAM, gravity_stride=1)
    fast = hha.depth_to_hha_full(depth, CAM)
    assert angle_deg(full.gravity.numpy(), fast.gravity.numpy()) < 0.1
    assert (full.hha.int() - fast.hha.int()).abs().max() <= 1


def test_holes_stay_holes():
    depth, g, p, on_floor, on_wall = floor_and_wall()
    holed = depth.clone()
    holed[20:50, 60:100] = 0.0  # a hole in the wall
    res = hha.depth_to_hha_full(holed, CAM)
    out = res.hha
    assert (out[0, 20:50, 60:100] == 255).all()  # missing depth reads as "very near"
    assert (out[1, 20:50, 60:100].int() - 100).abs().max() <= 1  # the camera's own height
    assert (out[2, 23:47, 63:97] == 218).all()  # no valid pixel in the 7x7 window: no normal
    assert torch.isnan(res.normals[:, 23:47, 63:97]).all()
    assert torch.isfinite(res.normals[:, 60:, :]).all()
    # the rest of the picture is unaffected
    hole = np.zeros((H, W), bool)
    hole[20:50, 60:100] = True
    wall_in = away_from_edges(on_wall & ~hole)
    assert (out[2].numpy()[wall_in].astype(int) - 128).__abs__().max() <= 1


def test_missing_mask_only_affects_normals():
    depth, *_ = floor_and_wall()
    mask = torch.zeros(H, W, dtype=torch.bool)
    mask[20:50, 60:100] = True
    plain = hha.depth_to_hha(depth, CAM, gravity=(0, 1, 0))
    masked = hha.depth_to_hha(depth, CAM, missing_mask=mask, gravity=(0, 1, 0))
    assert torch.equal(plain[:2], masked[:2])  # disparity and height come from the filled depth
    assert (masked[2, 23:47, 63:97] == 218).all()
    assert (plain[2, 23:47, 63:97] == 128).all()
    assert torch.equal(plain[2, :, :50], masked[2, :, :50])


def test_given_gravity_is_used():
    depth = render([(down_vector(0.0), 1.5)])[H // 2 + 5 :]  # the floor part of the view
    tilted = down_vector(30.0)
    cam = (F_PX, F_PX, CAM[2], CAM[3] - (H // 2 + 5))
    res = hha.depth_to_hha_full(depth, cam, gravity=torch.from_numpy(tilted * 3.0))  # any length
    torch.testing.assert_close(res.gravity, torch.from_numpy(tilted))
    inner = res.hha[2, 10:-10, 10:-10].int()
    assert (inner - 68).abs().max() <= 1  # floor normal at 30 deg from the given "down"
    est = hha.depth_to_hha_full(depth, cam)
    assert (est.hha[2, 10:-10, 10:-10].int() - 38).abs().max() <= 1


def test_batch_equals_loop_of_singles_with_per_sample_intrinsics():
    cams = [CAM, (120.0, 125.0, 70.0, 62.0), (140.0, 140.0, 85.0, 55.0)]
    scenes = [
        floor_and_wall(0.0, 0.0, cam=cams[0])[0],
        floor_and_wall(25.0, 8.0, hc=1.1, wall=2.5, cam=cams[1])[0],
        floor_and_wall(10.0, -12.0, hc=0.6, wall=4.0, cam=cams[2])[0],
    ]
    batch = torch.stack(scenes)
    res = hha.depth_to_hha_full(batch, torch.tensor(cams))
    assert res.hha.shape == (3, 3, H, W) and res.gravity.shape == (3, 3) and res.floor_cm.shape == (3,)
    for i in range(3):
        single = hha.depth_to_hha_full(scenes[i], cams[i])
        assert torch.equal(res.hha[i], single.hha)
        torch.testing.assert_close(res.gravity[i], single.gravity)
    # extra leading dimensions are kept
    assert hha.depth_to_hha(batch.reshape(3, 1, H, W), CAM).shape == (3, 1, 3, H, W)


def test_zero_and_one_based_conventions_agree_when_shifted():
    depth, *_ = floor_and_wall(12.0, 4.0)
    fx, fy, cx, cy = CAM
    a = hha.depth_to_hha(depth, (fx, fy, cx, cy))
    b = hha.depth_to_hha(depth, (fx, fy, cx + 1, cy + 1), convention="one_based")
    assert torch.equal(a, b)
    # and the convention matters: the same numbers read 1-based shift the principal point
    c = hha.depth_to_hha_full(depth, CAM, convention="one_based")
    assert c.convention == "one_based"
    assert not torch.equal(c.hha, a)


def test_surface_normals_point_away_from_the_camera():
    depth, g, _, on_floor, on_wall = floor_and_wall()
    n = hha.surface_normals(depth, CAM).numpy()
    assert n.shape == (3, H, W)
    fl, wl = away_from_edges(on_floor), away_from_edges(on_wall)
    assert np.allclose(n[:, fl].T, [0, 1, 0], atol=1e-4)  # floor: +y (down)
    assert np.allclose(n[:, wl].T, [0, 0, 1], atol=1e-4)  # wall ahead: +z
    n21 = hha.surface_normals(depth, CAM, radius=10).numpy()
    assert np.allclose(n21[:, away_from_edges(on_floor, 11)].T, [0, 1, 0], atol=1e-4)


def test_float64_input_and_output_device():
    depth, *_ = floor_and_wall()
    a = hha.depth_to_hha(depth, CAM)
    b = hha.depth_to_hha(depth.double(), CAM)
    assert b.device == depth.device
    assert (a.int() - b.int()).abs().max() <= 1


@pytest.mark.gpu
def test_cuda_matches_cpu():
    torch.backends.cudnn.allow_tf32 = False
    depth, *_ = floor_and_wall(20.0, 10.0)
    holed = depth.clone()
    holed[20:50, 60:100] = 0
    batch = torch.stack([depth, holed])
    cpu = hha.depth_to_hha_full(batch, CAM)
    gpu = hha.depth_to_hha_full(batch.cuda(), CAM)
    assert gpu.hha.is_cuda and gpu.gravity.is_cuda
    assert (gpu.hha.cpu().int() - cpu.hha.int()).abs().max() <= 1
    torch.testing.assert_close(gpu.gravity.cpu(), cpu.gravity, atol=1e-5, rtol=0)
