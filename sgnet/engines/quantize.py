"""Post-training int8 quantisation of an OpenVINO model with NNCF (calibration inputs in, int8 IR out).

NNCF's default (mixed) preset quantises convolutions, matmuls and their inputs per channel after
running the float model on the calibration inputs; the S-Conv (DeformableConvolution) stays in
float, only its offset/mask generators and every ordinary conv around it go int8.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sgnet.engines import require


def quantize_openvino(model, inputs: Sequence[tuple[torch.Tensor, torch.Tensor]]):
    """An int8 copy of the OpenVINO `model`, calibrated on prepared (image, xyz) pairs (one frame each)."""
    require(("nncf",), "openvino", "int8 quantisation")
    import logging

    import nncf

    nncf_log = logging.getLogger("nncf")
    level = nncf_log.level
    nncf_log.setLevel(logging.ERROR)  # its progress bars and notes would drown the command's lines
    try:
        data = nncf.Dataset([{"image": i.numpy(), "xyz": x.numpy()} for i, x in inputs])
        return nncf.quantize(
            model, data, subset_size=len(inputs), preset=nncf.QuantizationPreset.MIXED, fast_bias_correction=True
        )
    finally:
        nncf_log.setLevel(level)
