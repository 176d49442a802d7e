"""Post-training int8 quantisation of an OpenVINO model with NNCF (calibration inputs in, int8 IR out).

NNCF's mixed preset quantises convolutions (weights per channel, activations asymmetric) after running
the float model on the calibration inputs. The S-Conv's guidance stays in float: every layer between
the depth input and a DeformableConvolution's offsets or mask that is not also on its data path (the
spatial projector, the offset and weight generators). Quantised offsets move the sampling positions
of every tap. NNCF's accuracy control then puts back to float whatever else costs label agreement
with the float model (docs/engines.md has the mIoU figures).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sgnet.engines import require

_WEIGHTED = ("Convolution", "DeformableConvolution", "GroupConvolution", "MatMul")


def _ancestors(outputs) -> set[str]:
    seen: set[str] = set()
    stack = [o.get_node() for o in outputs]
    while stack:
        node = stack.pop()
        name = node.get_friendly_name()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(i.get_source_output().get_node() for i in node.inputs())
    return seen


def guidance_layers(model) -> list[str]:
    """Names of the weighted layers that feed only the S-Convs' offsets/masks (not their data input)."""
    types = {op.get_friendly_name(): op.get_type_name() for op in model.get_ordered_ops()}
    guide: set[str] = set()
    for op in model.get_ordered_ops():
        if op.get_type_name() != "DeformableConvolution":
            continue
        ins = [i.get_source_output() for i in op.inputs()]  # data, offsets, filters[, mask]
        steering = [ins[1]] + ([ins[3]] if len(ins) > 3 else [])
        guide |= _ancestors(steering) - _ancestors([ins[0]])
    return sorted(n for n in guide if types.get(n) in _WEIGHTED)


def _agreement_check(model, inputs):
    """(validation data, validation_fn) for NNCF's accuracy control: the share of pixels whose label
    (argmax) equals the float model's, so no ground truth is needed."""
    import hashlib

    import nncf
    import numpy as np
    import openvino as ov

    from sgnet.engines.ov_rules import deformconv_extension

    core = ov.Core()
    core.add_extension(deformconv_extension())
    ref_model = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    items = [{"image": i.numpy(), "xyz": x.numpy()} for i, x in inputs]
    def key(item) -> str:  # NNCF hands back the items or subsets of them: find each one's reference by content
        return hashlib.sha1(item["image"].tobytes() + item["xyz"].tobytes()).hexdigest()

    refs = {key(item): ref_model(item)[0].argmax(1) for item in items}

    def agreement(compiled, data) -> float:
        return float(np.mean([(compiled(item)[0].argmax(1) == refs[key(item)]).mean() for item in data]))

    return nncf.Dataset(items), agreement


def quantize_openvino(model, inputs: Sequence[tuple[torch.Tensor, torch.Tensor]], keep_guidance: bool = True,
                      max_drop: float | None = 0.01):  # fmt: skip
    """An int8 copy of the OpenVINO `model`, calibrated on prepared (image, xyz) pairs (one frame each).

    max_drop: with NNCF's accuracy control, layers are put back to float, most sensitive first, until
    the labels on `inputs` agree with the float model's on at least 1 - max_drop of the pixels (the
    shipped demo model: 6.4 mIoU points lost without it, none with 0.01). None: plain quantisation.
    """
    require(("nncf",), "openvino", "int8 quantisation")
    import logging

    import nncf

    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    nncf_log.setLevel(logging.ERROR)  # its notes would drown the command's lines
    try:
        data = nncf.Dataset([{"image": i.numpy(), "xyz": x.numpy()} for i, x in inputs])
        keep = guidance_layers(model) if keep_guidance else []
        options = {
            "subset_size": len(inputs), "preset": nncf.QuantizationPreset.MIXED, "fast_bias_correction": True,
            "ignored_scope": nncf.IgnoredScope(names=keep, validate=False) if keep else None,
        }
        if max_drop is None:
            return nncf.quantize(model, data, **options)
        val_data, agreement = _agreement_check(model, inputs)
        return nncf.quantize_with_accuracy_control(
            model, data, val_data, validation_fn=agreement, max_drop=max_drop, drop_type=nncf.DropType.ABSOLUTE,
            **options,
        )
    finally:
        nncf_log.setLevel(level)
