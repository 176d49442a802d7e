"""The autograd wrapper every S-Conv backend shares.

Each backend supplies a graph-free `forward(x, offset, mask, weight, bias, geo)` and a
`backward(grad_out, x, offset, mask, weight, geo, needs) -> 5 grads`; only the inputs are
saved and the bilinear samples are recomputed in the backward (modest memory).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def recomputing_function(name: str, forward: Callable, backward: Callable) -> type[torch.autograd.Function]:
    """A `torch.autograd.Function` subclass calling `forward` / `backward` as described above."""

    def fwd(ctx, x, offset, mask, weight, bias, geo):
        ctx.geo = geo
        ctx.has_mask = mask is not None
        ctx.save_for_backward(x, offset, mask if mask is not None else x.new_empty(0), weight)
        return forward(x, offset, mask, weight, bias, geo)

    @torch.autograd.function.once_differentiable
    def bwd(ctx, grad_out):
        x, offset, mask, weight = ctx.saved_tensors
        mask = mask if ctx.has_mask else None
        needs = tuple(ctx.needs_input_grad[i] for i in range(5))
        return (*backward(grad_out, x, offset, mask, weight, ctx.geo, needs), None)

    return type(name, (torch.autograd.Function,), {
        "__doc__": f"Autograd wrapper of {forward.__module__}: saves the inputs, recomputes samples in the backward.",
        "forward": staticmethod(fwd),
        "backward": staticmethod(bwd),
    })
