"""Soft targets (`sgnet distill --soft`): the KL term, its class merge and padding mask, the teacher
loaded frozen, and the options' mistakes as one line."""

from __future__ import annotations

import pytest
import torch

from assets.classes import builtin_class_set
from sgnet.classes import merge_matrix
from sgnet.errors import SGNetUserError
from sgnet.train import TrainConfig
from sgnet.train.config import check_config
from sgnet.train.soft_targets import image_mask, load_teacher_net, soft_target_loss


def test_equal_outputs_cost_nothing_and_other_ones_do():
    torch.manual_seed(0)
    s = torch.randn(2, 5, 6, 8)
    keep = torch.ones(2, 6, 8, dtype=torch.bool)
    assert float(soft_target_loss(s, s.clone(), None, 1.0, keep)) < 1e-6
    assert float(soft_target_loss(s, torch.randn(2, 5, 6, 8), None, 1.0, keep)) > 0.1


def test_gradient_steps_bring_the_student_to_the_teacher():
    torch.manual_seed(1)
    teacher = torch.randn(1, 4, 5, 5) * 3
    student = torch.zeros(1, 4, 5, 5, requires_grad=True)
    keep = torch.ones(1, 5, 5, dtype=torch.bool)
    opt = torch.optim.SGD([student], lr=5.0)
    first = None
    for _ in range(200):
        loss = soft_target_loss(student, teacher, None, 2.0, keep)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.01 * first
    assert torch.equal(student.argmax(1), teacher.argmax(1))


def test_teacher_logits_at_another_size_are_resized_to_the_students():
    torch.manual_seed(2)
    small = torch.randn(1, 3, 4, 4)
    big = torch.nn.functional.interpolate(small, size=(7, 7), mode="bilinear", align_corners=True)
    keep = torch.ones(1, 7, 7, dtype=torch.bool)
    assert float(soft_target_loss(big, small, None, 1.0, keep)) < 1e-6


def test_padding_is_left_out():
    torch.manual_seed(3)
    s, t = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    keep = torch.zeros(1, 4, 4, dtype=torch.bool)
    keep[:, :, :2] = True
    s2 = s.clone()
    s2[..., 2:] = torch.randn(1, 3, 4, 2) * 10  # only where keep is False
    a, b = soft_target_loss(s, t, None, 1.0, keep), soft_target_loss(s2, t, None, 1.0, keep)
    assert torch.allclose(a, b)
    color = torch.zeros(1, 4, 4, 3, dtype=torch.uint8)
    depth = torch.zeros(1, 4, 4)
    color[0, 0, 0] = 9
    depth[0, 1, 1] = 2.0
    assert image_mask(color, depth).nonzero().tolist() == [[0, 0, 0], [0, 1, 1]]


def test_a_teacher_in_another_class_set_is_merged_first():
    """NYU40 teacher, NYUv2-13 student: the target is the teacher's probabilities summed per 13-class."""
    m = merge_matrix(builtin_class_set("nyu40"), builtin_class_set("nyu13"))
    torch.manual_seed(4)
    teacher = torch.randn(1, 40, 3, 3)
    p13 = torch.einsum("nchw,ck->nkhw", torch.softmax(teacher, 1), m)
    p13 = p13 / p13.sum(1, keepdim=True)
    student = torch.log(p13)  # the merged distribution exactly: nothing left to learn
    keep = torch.ones(1, 3, 3, dtype=torch.bool)
    assert float(soft_target_loss(student, teacher, m, 1.0, keep)) < 1e-5
    assert float(soft_target_loss(torch.zeros(1, 13, 3, 3), teacher, m, 1.0, keep)) > 0.05


def test_the_teacher_is_frozen_and_an_export_is_refused_in_one_line():
    t = load_teacher_net("sgnet_lite", None, builtin_class_set("nyu13"), torch.device("cpu"), 0.5, 2.0)
    assert not t.net.training and not any(p.requires_grad for p in t.net.parameters())
    assert t.merge is not None and tuple(t.merge.shape) == (40, 13)
    with pytest.raises(SGNetUserError, match="soft targets need the teacher as a PyTorch checkpoint"):
        load_teacher_net(None, "teacher.onnx", builtin_class_set("nyu40"), torch.device("cpu"), 0.5, 1.0)


@pytest.mark.parametrize(("changes", "message"), [
    ({"soft_weight": 1.5, "teacher_model": "sgnet_lite"}, "--soft must be between 0 and 1"),
    ({"soft_weight": 0.5}, "--soft needs a teacher"),
    ({"temperature": 0.0}, "--temperature must be positive"),
])
def test_option_mistakes_are_one_line(changes, message):
    with pytest.raises(SGNetUserError, match=message):
        check_config(TrainConfig(data="unused", **changes))
