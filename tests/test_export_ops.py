"""The portable S-Conv (ops.portable) against the loop reference: eagerly in both forms, and exported to
ONNX and run by ONNX Runtime and OpenVINO (GridSample + Conv, and ONNX DeformConv) over the case matrix
of tests/test_ops_semantics.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_ops_semantics import CASES, _boundary_case

import ops
from ops.portable import FORMS, onnx_translations, sconv_form
from ops.reference import deform_conv2d_reference, random_case

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("form", FORMS)
def test_eager_forms_match_the_loop_reference(form: str, name: str) -> None:
    case = random_case(dtype=torch.float32, seed=len(name), **CASES[name])
    with ops.use_backend("portable"), sconv_form(form):
        got = ops.deform_conv2d(**case)
    torch.testing.assert_close(got, deform_conv2d_reference(**case).float(), rtol=1e-4, atol=1e-4)


def test_boundary_rule_and_nan_offsets() -> None:
    case = _boundary_case()
    with ops.use_backend("portable"):
        got = ops.deform_conv2d(**case)
        torch.testing.assert_close(got, deform_conv2d_reference(**case).float(), rtol=1e-5, atol=1e-5)
        assert got[0, 0, 1, 1].item() == 0.0  # y == -1 exactly
        nan = dict(case, offset=case["offset"].clone())
        nan["offset"][0, 0, 2, 2] = float("nan")
        out = ops.deform_conv2d(**nan)
    assert torch.isfinite(out).all() and out[0, 0, 2, 2].item() == 0.0  # NaN offsets sample nothing


def test_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown S-Conv form"), sconv_form("gather"):
        pass


class _Op(torch.nn.Module):
    def __init__(self, case: dict) -> None:
        super().__init__()
        self.case = case

    def forward(self, x, offset, mask):
        c = self.case
        return ops.deform_conv2d(x, offset, c["weight"], c.get("bias"), c.get("stride", 1), c.get("padding", 0),
                                 c.get("dilation", 1), mask)  # fmt: skip


EXPORT_CASES = ["basic", "stride2", "nonsquare-dilated", "groups", "offset-groups-2", "far-outside"]


def _export(case: dict, form: str, path) -> None:
    args = (case["input"], case["offset"], case["mask"])
    with torch.no_grad(), ops.use_backend("portable"), sconv_form(form):
        torch.onnx.export(_Op(case).eval(), args, str(path), input_names=["x", "offset", "mask"], dynamo=True,
                          opset_version=19, custom_translation_table=onnx_translations(), verbose=False)  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(case, {form: path}) per case name: each exported once for both runtimes."""
    pytest.importorskip("onnxscript")
    folder = tmp_path_factory.mktemp("sconv")
    out = {}
    for name in EXPORT_CASES:
        case = random_case(dtype=torch.float32, seed=len(name), **CASES[name])
        paths = {}
        for form in FORMS:
            paths[form] = folder / f"{name}-{form}.onnx"
            _export(case, form, paths[form])
        out[name] = (case, paths)
    return out


def _feeds(case: dict) -> dict:
    return {"x": case["input"].numpy(), "offset": case["offset"].numpy(), "mask": case["mask"].numpy()}


@pytest.mark.parametrize("name", EXPORT_CASES)
@pytest.mark.parametrize("form", FORMS)
def test_onnxruntime_runs_both_forms(exported, form: str, name: str) -> None:
    ort = pytest.importorskip("onnxruntime")
    case, paths = exported[name]
    if form == "deformconv":
        import onnx

        assert [n.op_type for n in onnx.load(str(paths[form])).graph.node] == ["DeformConv"]
    got = ort.InferenceSession(str(paths[form]), providers=["CPUExecutionProvider"]).run(None, _feeds(case))[0]
    np.testing.assert_allclose(got, deform_conv2d_reference(**case).numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", EXPORT_CASES)
@pytest.mark.parametrize("form", FORMS)
def test_openvino_runs_both_forms(exported, form: str, name: str) -> None:
    ov = pytest.importorskip("openvino")
    from sgnet.engines.ov_rules import deformconv_extension

    case, paths = exported[name]
    core = ov.Core()
    core.add_extension(deformconv_extension())
    compiled = core.compile_model(str(paths[form]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    got = compiled(_feeds(case))[0]
    np.testing.assert_allclose(got, deform_conv2d_reference(**case).numpy(), rtol=1e-4, atol=1e-4)


def test_openvino_reads_no_deformconv_without_the_extension(exported) -> None:
    """Why the extension exists: OpenVINO's own ONNX reader has no rule for DeformConv."""
    ov = pytest.importorskip("openvino")
    _, paths = exported["basic"]
    with pytest.raises(Exception, match="DeformConv"):
        ov.Core().compile_model(str(paths["deformconv"]), "CPU")
