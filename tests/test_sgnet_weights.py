"""Official checkpoints load unchanged and mean what the official code means.

A fake checkpoint is built from the manifest of the released networks (every key and shape,
`module.` prefix, epoch/iteration fields, InPlace-ABN norms with some negative gammas, no
num_batches_tracked) and saved with torch.save. Loading it must be strict, and the loaded
model must reproduce parts of the forward pass re-derived here with F.conv2d / F.batch_norm
(gamma -> |gamma| + 1e-5) / ops.deform_conv2d straight from the checkpoint tensors.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from cli_runner import run_cli

import ops
import sgnet
from sgnet.weights import read_checkpoint, save_weights

MANIFEST = Path(__file__).parent / "fixtures" / "sgnet_checkpoint_keys.json"
OFFICIAL = {"sgnet_r101": "SGNet", "sgnet_r101_aspp": "SGNet_ASPP", "sgnet_r50": "SGNet_Res50"}
EPS = 1e-5


@functools.cache
def _networks() -> dict:
    return json.loads(MANIFEST.read_text())["networks"]


def manifest(network: str) -> dict:
    return _networks()[network]


def fake_state_dict(network: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors for every manifest key, scaled so 100+ layers stay finite."""
    g = torch.Generator().manual_seed(seed)
    entries = manifest(network)["state_dict"]
    keys = {k for k, _ in entries}
    sd = {}
    for key, shape in entries:
        if key.endswith("running_var"):
            t = torch.rand(shape, generator=g) + 0.5
        elif key.endswith("running_mean"):
            t = torch.randn(shape, generator=g) * 0.1
        elif len(shape) == 1 and key.endswith(".weight") and key[: -len("weight")] + "running_mean" in keys:
            # ABN gamma: magnitudes 0.5..1 with random signs (negatives must flip to positive)
            sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
            t = (torch.rand(shape, generator=g) * 0.5 + 0.5) * sign
        elif len(shape) == 1:
            t = torch.randn(shape, generator=g) * 0.1
        else:
            fan_in = shape[1] * shape[2] * shape[3]
            t = torch.randn(shape, generator=g) * (1.0 / fan_in) ** 0.5
        sd[key] = t
    return sd


def save_official(tmp: Path, network: str) -> tuple[Path, dict[str, torch.Tensor]]:
    sd = fake_state_dict(network)
    path = tmp / f"{network}.pth.tar"
    torch.save({"epoch": 123, "iteration": 45678, "state_dict": sd}, path)
    return path, sd


def bn(x: torch.Tensor, sd: dict, prefix: str) -> torch.Tensor:
    """InPlace-ABN (activation none) in eval mode, as the official CUDA kernel computes it."""
    return F.batch_norm(
        x,
        sd[prefix + ".running_mean"],
        sd[prefix + ".running_var"],
        sd[prefix + ".weight"].abs() + EPS,
        sd[prefix + ".bias"],
        False,
        0.0,
        EPS,
    )


def sconv_ref(x: torch.Tensor, s: torch.Tensor, sd: dict, p: str, stride: int) -> torch.Tensor:
    """S-Conv re-derived from spec §3.2 with the checkpoint tensors (prefix p = '...conv2')."""
    z = F.interpolate(s[:, 2:3], size=x.shape[-2:], mode="bilinear", align_corners=True)
    f = z
    for i in (0, 3, 6):
        f = F.relu(
            bn(
                F.conv2d(f, sd[f"{p}.spatial_projector.{i}.weight"], sd[f"{p}.spatial_projector.{i}.bias"], padding=1),
                sd,
                f"{p}.spatial_projector.{i + 1}",
            )
        )
    offset = F.conv2d(f, sd[f"{p}.offset_generator.weight"], sd[f"{p}.offset_generator.bias"], stride=stride, padding=1)
    g = ops.deform_conv2d(f, offset, sd[f"{p}.weight_generator1.weight"], None, stride=stride, padding=1)
    mask = torch.sigmoid(F.conv2d(g, sd[f"{p}.weight_generator2.weight"], sd[f"{p}.weight_generator2.bias"]))
    return ops.deform_conv2d(x, offset, sd[f"{p}.weight"], sd[f"{p}.bias"], stride=stride, padding=1, mask=mask)


def stem_ref(image: torch.Tensor, sd: dict) -> torch.Tensor:
    x = F.relu(bn(F.conv2d(image, sd["conv1.weight"], stride=2, padding=1), sd, "bn1"))
    x = F.relu(bn(F.conv2d(x, sd["conv2.weight"], padding=1), sd, "bn2"))
    x = F.relu(bn(F.conv2d(x, sd["conv3.weight"], padding=1), sd, "bn3"))
    return F.max_pool2d(x, 3, 2, 1)


def bottleneck_ref(x: torch.Tensor, s: torch.Tensor, sd: dict, p: str, stride: int) -> torch.Tensor:
    """layerX.0: conv1/bn1/relu, S-Conv/bn2/relu, conv3/bn3, downsample shortcut, relu."""
    out = F.relu(bn(F.conv2d(x, sd[f"{p}.conv1.weight"]), sd, f"{p}.bn1"))
    out = F.relu(bn(sconv_ref(out, s, sd, f"{p}.conv2", stride), sd, f"{p}.bn2"))
    out = bn(F.conv2d(out, sd[f"{p}.conv3.weight"]), sd, f"{p}.bn3")
    short = bn(F.conv2d(x, sd[f"{p}.downsample.0.weight"], stride=stride), sd, f"{p}.downsample.1")
    return F.relu(out + short)


def dsn_ref(x: torch.Tensor, sd: dict, p: str) -> torch.Tensor:
    """dsn head: conv3x3(bias) -> ABN with leaky ReLU 0.01 (Trap 2) -> dropout (eval: id) -> conv1x1."""
    y = F.leaky_relu(bn(F.conv2d(x, sd[f"{p}.0.weight"], sd[f"{p}.0.bias"], padding=1), sd, f"{p}.1"), 0.01)
    return F.conv2d(y, sd[f"{p}.3.weight"], sd[f"{p}.3.bias"])


def aspp_ref(x: torch.Tensor, sd: dict) -> torch.Tensor:
    p = "head.0"
    h, w = x.shape[-2:]
    pooled = F.adaptive_avg_pool2d(x, 1)
    b1 = F.leaky_relu(bn(F.conv2d(pooled, sd[f"{p}.conv1.1.weight"]), sd, f"{p}.conv1.2"), 0.01)
    branches = [F.interpolate(b1, size=(h, w), mode="bilinear", align_corners=True)]
    branches.append(F.leaky_relu(bn(F.conv2d(x, sd[f"{p}.conv2.0.weight"]), sd, f"{p}.conv2.1"), 0.01))
    for name, d in (("conv3", 12), ("conv4", 24), ("conv5", 36)):
        y = F.conv2d(x, sd[f"{p}.{name}.0.weight"], padding=d, dilation=d)
        branches.append(F.leaky_relu(bn(y, sd, f"{p}.{name}.1"), 0.01))
    y = F.conv2d(torch.cat(branches, 1), sd[f"{p}.bottleneck.0.weight"])
    y = F.leaky_relu(bn(y, sd, f"{p}.bottleneck.1"), 0.01)
    return F.conv2d(y, sd["head.1.weight"], sd["head.1.bias"])


@pytest.fixture(scope="module")
def official_cache(tmp_path_factory):
    """Builds each official network's fake checkpoint and loaded test-variant model once."""
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            path, sd = save_official(tmp_path_factory.mktemp(name), OFFICIAL[name])
            model = sgnet.create_model(name).eval()
            result = sgnet.load_weights(model, path)
            assert result.source == "official" and result.converted_abn
            cache[name] = (name, model, {k[len("module.") :]: v for k, v in sd.items()}, path)
        return cache[name]

    return get


@pytest.fixture(params=list(OFFICIAL))
def official(request, official_cache):
    """(model name, test-variant model with the fake checkpoint loaded, stripped tensors, path)."""
    return official_cache(request.param)


def test_official_checkpoint_loads_and_reproduces_forward(official):
    name, model, sd, _ = official
    g = torch.Generator().manual_seed(1)
    image = torch.randn(1, 3, 64, 80, generator=g) * 50
    xyz = torch.rand(1, 3, 64, 80, generator=g) * 4 + 0.3
    seen = {}

    def keep(key):
        def hook(_m, inputs, output):
            seen[key] = (inputs[0].detach(), output.detach() if isinstance(output, torch.Tensor) else output)

        return hook

    model.layer1[0].register_forward_hook(keep("layer1.0"))
    model.layer2[0].register_forward_hook(keep("layer2.0"))
    head = model.head if name == "sgnet_r101_aspp" else model.dsn4
    head.register_forward_hook(keep("head"))
    model.dsn3.register_forward_hook(keep("dsn3"))
    with torch.no_grad():
        main = model(image, xyz)
        both = model(image, xyz, return_aux=True)
    assert isinstance(main, torch.Tensor) and main.shape == (1, 40, 4, 5)
    assert isinstance(both, list) and len(both) == 2 and torch.equal(both[0], main)

    stem = stem_ref(image, sd)
    torch.testing.assert_close(seen["layer1.0"][0], stem, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(seen["layer1.0"][1], bottleneck_ref(stem, xyz, sd, "layer1.0", 1), rtol=1e-4, atol=1e-4)
    x2 = seen["layer2.0"][0]  # strided S-Conv block: offsets on the 16x20 input grid, output 8x10
    torch.testing.assert_close(seen["layer2.0"][1], bottleneck_ref(x2, xyz, sd, "layer2.0", 2), rtol=1e-4, atol=1e-4)
    x4 = seen["head"][0]
    ref = aspp_ref(x4, sd) if name == "sgnet_r101_aspp" else dsn_ref(x4, sd, "dsn4")
    torch.testing.assert_close(main, ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(both[1], dsn_ref(seen["dsn3"][0], sd, "dsn3"), rtol=1e-4, atol=1e-4)


def test_every_norm_weight_is_abs_plus_eps(official):
    _, model, sd, _ = official
    msd = model.state_dict()
    norms = [k for k in sd if k.endswith(".weight") and k[: -len("weight")] + "running_mean" in sd]
    assert len(norms) == sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert any(bool((sd[k] < 0).any()) for k in norms)
    for k in norms:
        torch.testing.assert_close(msd[k], sd[k].abs() + EPS, rtol=0, atol=0)
    for k, v in sd.items():  # everything else unchanged
        if k not in norms:
            assert torch.equal(msd[k], v), k


@pytest.mark.parametrize("name", ["sgnet_r50", "sgnet_r101_aspp"])  # R101 = R50 with more blocks
def test_official_weights_into_fps_model_drop_aux_head(name, official_cache):
    name, model, _, path = official_cache(name)
    fps = sgnet.create_model(name, fps=True).eval()
    result = sgnet.load_weights(fps, path)
    assert result.dropped and all(k.startswith("dsn3.") for k in result.dropped)
    assert len(result.dropped) == 8
    g = torch.Generator().manual_seed(2)
    image, xyz = torch.randn(1, 3, 48, 64, generator=g) * 50, torch.rand(1, 3, 48, 64, generator=g) * 3
    with torch.no_grad():
        torch.testing.assert_close(fps(image, xyz), model(image, xyz), rtol=1e-5, atol=1e-5)


def test_safetensors_round_trip_and_convert_cli(official_cache, tmp_path):
    name, model, _, path = official_cache("sgnet_r50")  # key handling is shared by all three
    out = tmp_path / "converted.safetensors"
    assert run_cli(["convert-weights", str(path), str(out)]) == 0  # model guessed from the key layout
    ckpt = read_checkpoint(out)
    assert ckpt.model_name == name and ckpt.num_classes == 40 and ckpt.bn == "plain"
    again = sgnet.create_model(name)
    sgnet.load_weights(again, out)
    for k, v in model.state_dict().items():
        assert torch.equal(again.state_dict()[k], v), k


def test_our_pt_checkpoint_round_trip(tmp_path):
    model = sgnet.create_model("sgnet_lite", aux=True)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    pt = save_weights(model, tmp_path / "ours.pt", source="test", epoch=7)
    ckpt = read_checkpoint(pt)
    assert (ckpt.source, ckpt.model_name, ckpt.num_classes, ckpt.bn) == ("sgnet-live", "sgnet_lite", 40, "plain")
    assert ckpt.meta["epoch"] == "7"
    again = sgnet.create_model("sgnet_lite", aux=True)
    assert sgnet.load_weights(again, pt).converted_abn is False
    for k, v in model.state_dict().items():
        assert torch.equal(again.state_dict()[k], v), k
    deploy = sgnet.create_model("sgnet_lite")  # no aux head: dsn3.* dropped
    assert {k.split(".")[0] for k in sgnet.load_weights(deploy, pt).dropped} == {"dsn3"}


def test_convert_half_stores_float16_and_loads_back_rounded(tmp_path):
    torch.manual_seed(0)
    model = sgnet.create_model("sgnet_lite")
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.1)
    full = save_weights(model, tmp_path / "full.safetensors")
    half = tmp_path / "half.safetensors"
    assert run_cli(["convert-weights", str(full), str(half), "--half"]) == 0
    assert half.stat().st_size < 0.55 * full.stat().st_size
    ckpt = read_checkpoint(half)
    assert ckpt.meta["stored_dtype"] == "float16"
    assert {v.dtype for v in ckpt.state_dict.values()} == {torch.float16, torch.int64}  # BN counters stay int
    again = sgnet.create_model("sgnet_lite")
    sgnet.load_weights(again, half)
    for k, v in model.state_dict().items():
        back = again.state_dict()[k]
        assert back.dtype == v.dtype, k
        if v.is_floating_point():
            assert torch.equal(back, v.half().float()), k
    model.eval()
    again.eval()
    image, xyz = torch.randn(1, 3, 48, 64), torch.rand(1, 3, 48, 64) + 1
    with torch.no_grad():
        torch.testing.assert_close(again(image, xyz), model(image, xyz), rtol=0.02, atol=0.02)


def test_convert_half_refuses_values_float16_cannot_hold(tmp_path, capsys):
    model = sgnet.create_model("sgnet_lite")
    with torch.no_grad():
        model.stem[0].weight[0, 0, 0, 0] = 1e6
    full = save_weights(model, tmp_path / "full.safetensors")
    assert run_cli(["convert-weights", str(full), str(tmp_path / "half.safetensors"), "--half"]) == 2
    err = capsys.readouterr().err
    assert "float16" in err and "stem.0.weight" in err and "Traceback" not in err


@pytest.mark.parametrize("name", list(OFFICIAL))
@pytest.mark.parametrize("fps", [False, True])
def test_state_dict_and_parameter_count_match_manifest(name, fps):
    network = OFFICIAL[name] + ("_fps" if fps else "")
    info = manifest(network)
    model = sgnet.create_model(name, fps=fps)
    mine = [(k, list(v.shape)) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    assert mine == [(k[len("module.") :], s) for k, s in info["state_dict"]]
    assert sum(p.numel() for p in model.parameters()) == info["num_parameters_total"]
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == info["num_parameters_requires_grad"]
    frozen = {k for k, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {k[len("module.") :] for k in info["frozen_parameter_keys"]}
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert n_bn == info["inplace_abn_count"]
    n_leaky = sum(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.01 for m in model.modules())
    assert n_leaky == info["inplace_abn_activation_counts"].get("leaky_relu", 0)


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = _Evil()
    evil.marker = marker
    path = tmp_path / "evil.pth.tar"
    torch.save({"epoch": 1, "iteration": 1, "state_dict": {"conv1.weight": torch.zeros(1)}, "x": evil}, path)
    model = sgnet.create_model("sgnet_lite")
    with pytest.raises(sgnet.UnsafeCheckpointError, match="refusing to load"):
        sgnet.load_weights(model, path)
    assert not marker.exists()


def test_mismatch_message_names_keys_and_model(tmp_path):
    r50 = sgnet.create_model("sgnet_r50")
    path = save_weights(r50, tmp_path / "r50.safetensors", source="test")
    r101 = sgnet.create_model("sgnet_r101")
    with pytest.raises(sgnet.WeightsMismatchError) as err:
        sgnet.load_weights(r101, path)
    msg = str(err.value)
    assert "\n" not in msg
    assert "sgnet_r101" in msg and "for sgnet_r50" in msg
    assert "missing" in msg and "layer3.6.conv1.weight" in msg
    # wrong class count: shapes named
    other = sgnet.create_model("sgnet_r50", num_classes=13)
    shapes = r"other shapes \(dsn3\.3\.weight \(40, 512, 1, 1\) vs model \(13"
    with pytest.raises(sgnet.WeightsMismatchError, match=shapes):
        sgnet.load_weights(other, path)


def test_fps_file_into_test_model_suggests_deploy_variant(tmp_path):
    path = save_weights(sgnet.create_model("sgnet_r50", fps=True), tmp_path / "fps.pt")
    with pytest.raises(sgnet.WeightsMismatchError, match="fps=True"):
        sgnet.load_weights(sgnet.create_model("sgnet_r50"), path)


def test_unreadable_files_give_clear_errors(tmp_path):
    model = sgnet.create_model("sgnet_lite")
    with pytest.raises(sgnet.WeightsFileError, match="not found"):
        sgnet.load_weights(model, tmp_path / "nope.pth")
    bad = tmp_path / "truncated.pt"
    torch.save(model.state_dict(), bad)
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(sgnet.WeightsFileError, match="cannot read"):
        sgnet.load_weights(model, bad)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(sgnet.WeightsFileError):
        sgnet.load_weights(model, junk)


def test_cli_mismatch_is_one_line_exit_2(tmp_path, capsys):
    path = save_weights(sgnet.create_model("sgnet_r18"), tmp_path / "r18.safetensors")
    code = run_cli(["convert-weights", str(path), str(tmp_path / "x.safetensors"), "--model", "sgnet_lite"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not fit model sgnet_lite" in err[0]


def test_legacy_non_zip_pickle_like_torch_041_is_read(tmp_path):
    """The released files are PyTorch 0.4.1 legacy pickles; weights_only reads that format too."""
    model = sgnet.create_model("sgnet_lite")
    sd = {f"module.{k}": v.clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    sd["module.layer1.0.bn1.weight"] = -torch.linspace(0.1, 1.0, sd["module.layer1.0.bn1.weight"].numel())
    path = tmp_path / "legacy.pth.tar"
    torch.save({"epoch": 3, "iteration": 9, "state_dict": sd}, path, _use_new_zipfile_serialization=False)
    with open(path, "rb") as f:
        assert f.read(2) != b"PK"  # not a zip archive
    fresh = sgnet.create_model("sgnet_lite")
    result = sgnet.load_weights(fresh, path)
    assert result.source == "official" and result.converted_abn and len(result.filled) > 0
    got = fresh.state_dict()["layer1.0.bn1.weight"]
    torch.testing.assert_close(got, torch.linspace(0.1, 1.0, got.numel()) + EPS, rtol=0, atol=0)
