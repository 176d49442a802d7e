"""Soft targets: a teacher network inside the training loop (knowledge distillation).

Hard pseudo-labels keep only the teacher's winning class, and only where it is sure; its soft
output also says which classes it hesitated between, and covers the pixels the confidence mask
left out. With `TrainConfig.soft_weight` = a > 0 the loss becomes

    (1 - a) * cross-entropy(hard labels) + a * T^2 * KL(teacher_T || student_T)

where `_T` is the softmax at temperature T (Hinton et al., 2015: T^2 keeps the gradients' size
as T changes). The teacher sees exactly the augmented batch the student sees (so crops, flips
and colour jitter need no stored probabilities), in eval mode and without gradients; its
probabilities are merged into the student's class set when the two differ (`sgnet.classes`), and
the KL is taken at the student's output size over the pixels that hold image (not the padding
of a crop larger than the scaled frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sgnet.classes import ClassSet, merge_matrix
from sgnet.errors import SGNetUserError


@dataclass
class TeacherNet:
    """The teacher in the loop: its network, the (C_teacher, C_student) merge (None: same classes)."""

    net: nn.Module
    merge: torch.Tensor | None
    weight: float  # a: the soft targets' share of the loss
    temperature: float
    describe: str


def load_teacher_net(model: str | None, weights: str | None, class_set: ClassSet, device: torch.device,
                     weight: float, temperature: float) -> TeacherNet:  # fmt: skip
    """The teacher's PyTorch network, frozen, on `device` (an exported file cannot give gradients-free
    logits at training crops of any size: refused in one line)."""
    from sgnet.loading import load_model

    try:
        loaded = load_model(model, weights)
    except SGNetUserError as e:
        raise SGNetUserError(f"soft targets need the teacher as a PyTorch checkpoint: {e}") from None
    net = loaded.net.to(device).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    merge = merge_matrix(loaded.classes, class_set)
    if merge is not None:
        merge = merge.to(device)
    return TeacherNet(net, merge, weight, temperature, loaded.summary)


def image_mask(color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """(N, H, W) True where an augmented sample holds image: a crop's padding is colour 0 and depth 0."""
    return (color.amax(dim=-1) > 0) | (depth > 0)


def soft_target_loss(student: torch.Tensor, teacher: torch.Tensor, merge: torch.Tensor | None,
                     temperature: float, keep: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """T^2 * KL(teacher || student) at temperature T, averaged over the `keep` pixels (N, H, W, any
    size: it is resized to the student's), with the teacher's logits resized to the student's size.

    >>> s = torch.randn(1, 3, 4, 4); keep = torch.ones(1, 4, 4, dtype=torch.bool)
    >>> float(soft_target_loss(s, s.clone(), None, 2.0, keep)) < 1e-6
    True
    """
    size = student.shape[-2:]
    t = teacher.float()
    if t.shape[-2:] != size:
        t = F.interpolate(t, size=size, mode="bilinear", align_corners=True)
    p_t = torch.softmax(t / temperature, dim=1)
    if merge is not None:  # summed into the student's classes; unmapped classes' share is dropped
        p_t = torch.einsum("nchw,ck->nkhw", p_t, merge)
        p_t = p_t / p_t.sum(dim=1, keepdim=True).clamp_min(1e-6)
    log_s = torch.log_softmax(student.float() / temperature, dim=1)
    kl = (p_t * (torch.log(p_t.clamp_min(1e-8)) - log_s)).sum(dim=1)  # (N, h, w)
    k = F.interpolate(keep[:, None].float(), size=size, mode="nearest")[:, 0]
    return temperature * temperature * (kl * k).sum() / k.sum().clamp_min(1.0)


def mixed_loss(hard: torch.Tensor, student_out, teacher: TeacherNet, image: torch.Tensor, xyz: torch.Tensor,
               keep: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """(1 - a) * the hard loss + a * the soft-target loss for this batch (module docstring)."""
    with torch.no_grad():
        t_out = teacher.net(image, xyz)
    t_main = t_out[0] if isinstance(t_out, list | tuple) else t_out
    s_main = student_out[0] if isinstance(student_out, list | tuple) else student_out
    soft = soft_target_loss(s_main, t_main, teacher.merge, teacher.temperature, keep)
    return (1.0 - teacher.weight) * hard + teacher.weight * soft
