"""SConv / DeformConv: official state-dict layout and a forward re-derived from spec §3.2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import ops
from ops.reference import deform_conv2d_reference

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny shapes: see conftest

KEYS_JSON = Path("/work/shared/spec/sgnet_checkpoint_keys.json")


def _official_block(prefix: str) -> list[tuple[str, tuple[int, ...]]]:
    if not KEYS_JSON.exists():
        pytest.skip(f"{KEYS_JSON} is not available on this machine")
    entries = json.loads(KEYS_JSON.read_text())["networks"]["SGNet"]["state_dict"]
    return [(k[len(prefix) :], tuple(s)) for k, s in entries if k.startswith(prefix)]


@pytest.mark.parametrize(
    ("prefix", "channels", "stride"),
    [("module.layer2.0.conv2.", 128, 2), ("module.layer4.1.conv2.", 512, 1)],
)
def test_sconv_state_dict_equals_official_block(prefix: str, channels: int, stride: int) -> None:
    expected = _official_block(prefix)
    assert expected, f"no keys under {prefix} in the manifest"
    m = ops.SConv(channels, channels, stride=stride)
    got = [(k, tuple(v.shape)) for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")]
    assert got == expected  # same keys, shapes and order
    assert m.offset_generator.stride == (stride, stride) and m.weight_generator1.stride == (stride, stride)
    assert not m.bias.requires_grad and torch.count_nonzero(m.bias) == 0
    assert torch.count_nonzero(m.offset_generator.weight) == 0 and torch.count_nonzero(m.offset_generator.bias) == 0


def _randomised(m: ops.SConv, seed: int) -> ops.SConv:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name != "bias":
                p.copy_(torch.randn(p.shape, generator=gen) * (0.3 if "generator" in name else 0.2))
        for mod in m.spatial_projector:
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.copy_(torch.randn(mod.num_features, generator=gen) * 0.1)
                mod.running_var.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
        m.bias.copy_(torch.randn(m.bias.shape, generator=gen))
    return m.eval()


def _rederived(m: ops.SConv, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Spec §3.2 step by step with functional calls and the loop reference."""
    z = F.interpolate(s[:, 2:3], size=x.shape[-2:], mode="bilinear", align_corners=True)
    feats = z
    for i in (0, 3, 6):
        conv, bn = m.spatial_projector[i], m.spatial_projector[i + 1]
        feats = F.conv2d(feats, conv.weight, conv.bias, padding=1)
        feats = (feats - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None] + bn.eps)
        feats = F.relu(feats * bn.weight[:, None, None] + bn.bias[:, None, None])
    og = m.offset_generator
    offset = F.conv2d(feats, og.weight, og.bias, stride=m.stride, padding=1)
    guide = deform_conv2d_reference(feats, offset, m.weight_generator1.weight, None, m.stride, 1, 1)
    mask = torch.sigmoid(F.conv2d(guide, m.weight_generator2.weight, m.weight_generator2.bias))
    return deform_conv2d_reference(x, offset, m.weight, m.bias, m.stride, 1, 1, mask)


@pytest.mark.parametrize("stride", [1, 2])
def test_sconv_forward_matches_rederivation(stride: int) -> None:
    torch.manual_seed(0)
    m = _randomised(ops.SConv(8, 6, stride=stride, spatial_channels=16), seed=stride)
    x = torch.randn(2, 8, 6, 7)
    s = torch.rand(2, 3, 12, 14) * 4  # S at full resolution, resized inside
    with torch.no_grad():
        got = m(x, s)
        expected = _rederived(m, x, s)
        offset, _ = m.guidance(x, s)
    assert offset.abs().max() > 0.5  # the offsets really deform
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_sconv_reads_only_z() -> None:
    m = _randomised(ops.SConv(4, 4, spatial_channels=8), seed=3)
    x = torch.randn(1, 4, 5, 6)
    s = torch.rand(1, 3, 5, 6) * 3
    other = s.clone()
    other[:, :2] = torch.randn(1, 2, 5, 6) * 10  # x/y channels are never read
    with torch.no_grad():
        ref = m(x, s)
        torch.testing.assert_close(m(x, other), ref, rtol=0, atol=0)
        torch.testing.assert_close(m(x, s[:, 2]), ref, rtol=0, atol=0)  # (N, H, W) z
        changed = s.clone()
        changed[:, 2] += 1.0
        assert not torch.allclose(m(x, changed), ref)


def test_sconv_trains_end_to_end() -> None:
    m = _randomised(ops.SConv(4, 4, spatial_channels=8), seed=4).train()
    x = torch.randn(2, 4, 6, 6, requires_grad=True)
    m(x, torch.rand(2, 3, 6, 6) * 3).square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in m.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert m.bias.grad is None


def test_sconv_pluggable_norm() -> None:
    m = ops.SConv(4, 4, spatial_channels=8, norm_layer=lambda c: nn.GroupNorm(2, c))
    assert isinstance(m.spatial_projector[1], nn.GroupNorm)
    assert m(torch.randn(1, 4, 5, 5), torch.rand(1, 5, 5)).shape == (1, 4, 5, 5)


def test_sconv_errors_are_clear() -> None:
    m = ops.SConv(4, 4, spatial_channels=8)
    with pytest.raises(ValueError, match=r"S must be xyz \(N, 3, H, W\)"):
        m(torch.randn(1, 4, 5, 5), torch.rand(1, 2, 5, 5))
    with pytest.raises(ValueError, match="x must be"):
        m(torch.randn(1, 3, 5, 5), torch.rand(1, 3, 5, 5))
    with pytest.raises(ValueError, match="batch"):
        m(torch.randn(2, 4, 5, 5), torch.rand(1, 3, 5, 5))
    with pytest.raises(ValueError, match="padding"):
        ops.SConv(4, 4, padding=2)


def test_deform_conv_module() -> None:
    m = ops.DeformConv(4, 6, 3, stride=2, padding=1, groups=2, deformable_groups=2, bias=True)
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias"]
    assert m.weight.shape == (6, 2, 3, 3)
    x = torch.randn(1, 4, 7, 7)
    off = torch.randn(1, 36, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(
            m(x, off),
            deform_conv2d_reference(x, off, m.weight, m.bias, 2, 1, 1),
            rtol=1e-4,
            atol=1e-4,
        )
    with pytest.raises(ValueError, match="36 channels"):
        m(x, torch.randn(1, 18, 4, 4))
    assert [k for k, _ in ops.DeformConv(4, 4).named_parameters()] == ["weight"]
