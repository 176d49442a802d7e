"""OpenVINO conversion rules the project's exports need: ONNX DeformConv, which OpenVINO's ONNX reader
has no rule for, as DeformableConvolution-8 (used when reading an .onnx and when exporting to IR)."""

from __future__ import annotations

import numpy as np


def _convert_deformconv(node):
    """ONNX DeformConv (X, W, offset, B?, mask?) -> OpenVINO DeformableConvolution-8 (+ bias)."""
    import openvino.opset8 as o8
    import openvino.opset13 as o13

    n = node.get_input_size()
    pads = list(node.get_attribute("pads", [0, 0, 0, 0]))
    y = o8.deformable_convolution(
        node.get_input(0), node.get_input(2), node.get_input(1),
        strides=list(node.get_attribute("strides", [1, 1])), pads_begin=pads[:2], pads_end=pads[2:],
        dilations=list(node.get_attribute("dilations", [1, 1])),
        mask=node.get_input(4) if n > 4 else None,
        group=int(node.get_attribute("group", 1)), deformable_group=int(node.get_attribute("offset_group", 1)),
        bilinear_interpolation_pad=True,  # samples within one pixel outside blend with zeros: the DCN rule
    )
    if n > 3:
        shape = o13.constant(np.array([1, -1, 1, 1], dtype=np.int64))
        y = o13.add(y, o13.reshape(node.get_input(3), shape, False))
    return [y.output(0)]


def deformconv_extension():
    """The conversion rule for ONNX DeformConv (pass to `ov.convert_model(extension=...)`/`Core.add_extension`)."""
    from openvino.frontend import ConversionExtension

    return ConversionExtension("DeformConv", _convert_deformconv)
