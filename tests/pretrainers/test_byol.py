import math

import pytest
import torch
import torch.nn.functional as F

from harness.engine.optim import lr_at, momentum_at
from pretrainers.byol import BYOL, byol_loss
from tests.conftest import recipe


def test_byol_loss_hand_computed():
    p = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    z = torch.tensor([[1.0, 1.0], [-3.0, 0.0]])
    # 2 - 2 cos: row 0 cos 1/sqrt(2); row 1 cos -1 -> 4
    assert byol_loss(p, z).item() == pytest.approx(((2 - math.sqrt(2)) + 4) / 2, abs=1e-6)


def test_byol_loss_equals_loop_and_stops_target_gradient():
    torch.manual_seed(0)
    p, z = torch.randn(5, 7, requires_grad=True), torch.randn(5, 7, requires_grad=True)
    ref = sum(2 - 2 * float(F.cosine_similarity(p[i].detach(), z[i].detach(), dim=0)) for i in range(5)) / 5
    loss = byol_loss(p, z)
    assert loss.item() == pytest.approx(ref, rel=1e-6)
    loss.backward()
    assert p.grad is not None and z.grad is None


def test_heads_have_no_bias_and_target_starts_equal():
    torch.manual_seed(0)
    m = BYOL("resnet18", hidden=32, dim=16)
    assert m.projector[0].bias is None and m.projector[3].bias is None and m.predictor[0].bias is None
    for a, b in zip(m.backbone.parameters(), m.backbone_t.parameters()):
        assert torch.equal(a, b)
    out = m([torch.randn(4, 3, 64, 64), torch.randn(4, 3, 64, 64)])
    assert 0 <= out["loss"].item() <= 8 and torch.isfinite(out["loss"])
    out["loss"].backward()
    assert m.predictor[0].weight.grad is not None and m.backbone_t.conv1.weight.grad is None
    with torch.no_grad():
        m.projector[0].weight.add_(1.0)
    before = m.projector_t[0].weight.clone()
    m.momentum_update(0.99)
    torch.testing.assert_close(m.projector_t[0].weight, 0.99 * before + 0.01 * m.projector[0].weight)


def test_paper_schedules_first_middle_last():
    tr = recipe("byol", "paper").train
    ipe = 118287 // 512
    total = tr.epochs * ipe
    assert momentum_at(0, total, tr.ema) == pytest.approx(0.99)
    assert momentum_at(total // 2, total, tr.ema) == pytest.approx(0.995, abs=1e-6)
    assert momentum_at(total - 1, total, tr.ema) == pytest.approx(1.0, abs=1e-8)
    lr = tr.optimizer.lr
    # mmcv's CosineAnnealing by epoch from epoch 0, the warm-up scaling it (tests/harness/test_engine.py
    # checks the formula against mmcv's own hook)
    assert lr_at(0, total, ipe, lr, tr.schedule) == pytest.approx(0.4e-4)      # warm-up starts at lr x 1e-4
    end_of_warmup = 0.4 * (1 + math.cos(math.pi * 4 / 800)) / 2                # the cosine at epoch 4 of 800
    assert lr_at(4 * ipe, total, ipe, lr, tr.schedule) == pytest.approx(end_of_warmup, rel=1e-12)
    assert lr_at(2 * ipe, total, ipe, lr, tr.schedule) == pytest.approx(
        0.4 * (1 + math.cos(math.pi * 2 / 800)) / 2 * (1 - 0.5 * (1 - 1e-4)), rel=1e-12)  # half-way through the warm-up
    assert lr_at(400 * ipe, total, ipe, lr, tr.schedule) == pytest.approx(0.2, rel=1e-12)  # half of the cosine
    assert lr_at(total - 1, total, ipe, lr, tr.schedule) < 1e-5
