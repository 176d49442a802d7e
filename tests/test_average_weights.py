"""`sgnet average-weights`: the mean of several weights files of one model, checked tensor by
tensor against torch; files of other models or class sets, one input, or the output among the
inputs are refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_runner import run_cli

import sgnet
from assets.classes import get_class_set
from sgnet.weights import save_weights


def _lite(path: Path, seed: int, classes: str = "nyu40") -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    class_set = get_class_set(classes)
    net = sgnet.create_model("sgnet_lite", num_classes=len(class_set.names))
    for m in net.modules():  # BatchNorm statistics differ between the files too
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    net.class_set = class_set
    save_weights(net, path, source=f"test {seed}")
    return {k: v.clone() for k, v in net.state_dict().items()}


@pytest.fixture(scope="module")
def three(tmp_path_factory) -> tuple[list[Path], list[dict[str, torch.Tensor]]]:
    d = tmp_path_factory.mktemp("soup")
    paths = [d / f"w{i}.safetensors" for i in range(3)]
    return paths, [_lite(p, i) for i, p in enumerate(paths)]


def test_average_is_the_mean_of_every_floating_tensor(three, tmp_path, capsys):
    paths, sds = three
    out = tmp_path / "soup.safetensors"
    assert run_cli(["average-weights", str(out), *map(str, paths)]) == 0
    assert "the mean of 3 sgnet_lite weights files; verified by reloading" in capsys.readouterr().out
    net = sgnet.create_model("sgnet_lite")
    sgnet.load_weights(net, out)
    got = net.state_dict()
    floats = [k for k, v in sds[0].items() if v.is_floating_point()]
    assert any(k.endswith("running_mean") for k in floats)
    for k in floats:
        want = sum(sd[k].double() for sd in sds) / 3
        torch.testing.assert_close(got[k].double(), want, rtol=0, atol=1e-6)
    assert not torch.equal(got[floats[0]], sds[0][floats[0]])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("one", "give two or more weights files to average, got 1"),
        ("self", "is one of the inputs"),
        ("classes", "predicts other classes than"),
        ("suffix", "must end in .safetensors"),
    ],
)
def test_mistakes_are_one_line(three, tmp_path, capsys, case, message):
    paths, _ = three
    out = tmp_path / "soup.safetensors"
    args = {
        "one": [str(out), str(paths[0])],
        "self": [str(paths[0]), str(paths[0]), str(paths[1])],
        "suffix": [str(tmp_path / "soup.txt"), *map(str, paths)],
    }.get(case)
    if case == "classes":
        other = tmp_path / "nyu13.safetensors"
        _lite(other, 5, "nyu13")
        args = [str(out), str(paths[0]), str(other)]
    assert run_cli(["average-weights", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()
