"""Model zoo: registry, light variants' structure and outputs, and that they can learn."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import ops
import sgnet
from sgnet.models.blocks import sconv_rule


def sconv_names(model: torch.nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, ops.SConv)]


def test_registry_lists_and_rejects():
    names = sgnet.list_models()
    for n in ("sgnet_r101", "sgnet_r101_aspp", "sgnet_r50", "sgnet_r18", "sgnet_lite", "sgnet_lite_plain"):
        assert n in names
    assert sgnet.list_models(official_only=True) == ["sgnet_r101", "sgnet_r101_aspp", "sgnet_r50"]
    with pytest.raises(sgnet.UnknownModelError, match="sgnet_r50"):
        sgnet.create_model("sgnet_r05")
    with pytest.raises(sgnet.SGNetUserError, match="num_classes"):
        sgnet.create_model("sgnet_lite", num_classes=0)
    with pytest.raises(sgnet.SGNetUserError, match="does not accept"):
        sgnet.create_model("sgnet_lite", widths=3)


def test_register_model_decorator_adds_a_model():
    from sgnet.registry import _REGISTRY

    @sgnet.register_model
    def _tmp_test_model(num_classes: int = 40):
        """A 1x1 conv."""
        return torch.nn.Conv2d(3, num_classes, 1)

    try:
        m = sgnet.create_model("_tmp_test_model", num_classes=5)
        assert m.out_channels == 5 and m.sgnet_name == "_tmp_test_model"
        assert sgnet.model_info("_tmp_test_model").description == "A 1x1 conv."
    finally:
        del _REGISTRY["_tmp_test_model"]


def test_sconv_placement_rule_matches_the_official_layout():
    # R101 layer3: 0, 21, 22; R50 layer3: 0, 4, 5; layer2: 0, 2, 3
    assert [i for i in range(23) if sconv_rule(i, 23)] == [0, 21, 22]
    assert [i for i in range(6) if sconv_rule(i, 6)] == [0, 4, 5]
    assert [i for i in range(4) if sconv_rule(i, 4)] == [0, 2, 3]
    r50 = sgnet.create_model("sgnet_r50")
    assert len(sconv_names(r50)) == 12
    # S-Conv ignores the stage dilation; plain layer3 blocks use dilation 2
    assert r50.layer4[0].conv2.dilation == 1 and r50.layer3[1].conv2.dilation == (2, 2)
    assert r50.layer3[0].conv2.stride == 2


def test_r18_structure_and_outputs():
    m = sgnet.create_model("sgnet_r18").eval()
    assert len(sconv_names(m)) == 8  # block 0 + last two of 2-block stages = every block
    x, s = torch.randn(1, 3, 64, 80), torch.rand(1, 3, 64, 80) * 3
    with torch.no_grad():
        out = m(x, s)
    assert out.shape == (1, 40, 4, 5)  # OS 16
    aux = sgnet.create_model("sgnet_r18", aux=True).train()
    outs = aux(torch.randn(2, 3, 64, 80), torch.rand(2, 3, 64, 80))
    assert isinstance(outs, list) and [o.shape for o in outs] == [(2, 40, 4, 5)] * 2


def test_lite_structure_outputs_and_z_only_input():
    m = sgnet.create_model("sgnet_lite", num_classes=13).eval()
    assert sconv_names(m) == ["layer2.0.conv1", "layer3.0.conv1", "layer3.1.conv1", "layer4.0.conv1", "layer4.1.conv1"]
    assert m.default_input_size == (240, 320) and m.output_stride == 4
    g = torch.Generator().manual_seed(0)
    x, xyz = torch.randn(2, 3, 64, 80, generator=g) * 50, torch.rand(2, 3, 64, 80, generator=g) * 3
    with torch.no_grad():
        out = m(x, xyz)
        assert out.shape == (2, 13, 16, 20)
        # only z reaches the S-Convs: an (N, H, W) z tensor gives the same result
        torch.testing.assert_close(m(x, xyz[:, 2]), out)
        # ... and z does matter once offsets are non-zero
        for mod in m.modules():
            if isinstance(mod, ops.SConv):
                torch.nn.init.normal_(mod.offset_generator.weight, std=0.5)
        assert not torch.allclose(m(x, xyz), m(x, xyz * 2))


def test_lite_learns_and_depth_branch_gets_gradients():
    torch.manual_seed(0)
    m = sgnet.create_model("sgnet_lite", num_classes=4, aux=True).train()
    x = torch.randn(2, 3, 32, 32) * 50
    xyz = torch.rand(2, 3, 32, 32) * 3
    target = (torch.arange(32) // 8).expand(2, 32, 32)  # four vertical bands
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(6):
        main, aux = m(x, xyz)
        main = F.interpolate(main, size=(32, 32), mode="bilinear", align_corners=True)
        aux = F.interpolate(aux, size=(32, 32), mode="bilinear", align_corners=True)
        loss = F.cross_entropy(main, target) + 0.4 * F.cross_entropy(aux, target)
        opt.zero_grad()
        loss.backward()
        if not losses:
            sconv = m.layer3[0].conv1
            assert sconv.offset_generator.weight.grad is not None
            assert sconv.spatial_projector[0].weight.grad.abs().sum() > 0
            assert sconv.bias.grad is None  # frozen like the official bias
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses


def test_official_forward_returns_main_in_eval_and_list_in_training():
    m = sgnet.create_model("sgnet_r50")
    x, s = torch.randn(1, 3, 32, 48), torch.rand(1, 3, 32, 48)
    m.eval()
    with torch.no_grad():
        assert isinstance(m(x, s), torch.Tensor)
    fps = sgnet.create_model("sgnet_r50", fps=True).eval()
    assert fps.dsn3 is None and not fps.has_aux
    with torch.no_grad():
        assert isinstance(fps(x, s, return_aux=True), torch.Tensor)
    with pytest.raises(ValueError, match="only one"):
        sgnet.create_model("sgnet_r50", fps=True, aux=True)


def test_lite_plain_is_lite_with_plain_convs_in_the_same_places():
    lite, plain = sgnet.create_model("sgnet_lite"), sgnet.create_model("sgnet_lite_plain")
    sconvs = sconv_names(lite)
    assert len(sconvs) == 5 and sconv_names(plain) == []
    plain_mods = dict(plain.named_modules())
    for name in sconvs:  # same place, same shape, a plain convolution
        conv, sconv = plain_mods[name], dict(lite.named_modules())[name]
        assert isinstance(conv, torch.nn.Conv2d)
        assert conv.weight.shape == sconv.weight.shape and conv.stride[0] == sconv.stride
    lite_keys = set(lite.state_dict())
    only_lite = {k for k in lite_keys - set(plain.state_dict())}
    assert set(plain.state_dict()) <= lite_keys  # nothing new, only the depth-guidance parts dropped
    assert only_lite and all(any(k.startswith(n + ".") for n in sconvs) or "spatial" in k for k in only_lite)
    img, xyz = torch.randn(1, 3, 48, 64), torch.randn(1, 3, 48, 64)
    plain.eval()
    out = plain(img, xyz)
    assert torch.equal(out, plain(img, torch.zeros_like(xyz)))  # depth does not reach the plain net
