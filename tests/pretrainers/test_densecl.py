import math

import pytest
import torch
import torch.nn.functional as F

from harness.engine.optim import lr_at, momentum_at
from pretrainers.densecl import DenseCL, DenseCLEncoder, dense_correspondence, densecl_loss
from pretrainers.moco_family import shuffled_forward
from tests.conftest import recipe


def test_correspondence_hand_checked():
    # backbone cells (C = 2, S = 3): query cells point along x, y, x+y; key cells along y, -x, x
    fq = torch.tensor([[[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]])
    fk = torch.tensor([[[0.0, -1.0, 1.0], [1.0, 0.0, 0.0]]])
    # q0 = x -> k2 (cos 1); q1 = y -> k0 (cos 1); q2 = x+y -> k0 and k2 tie at 0.707 -> first (k0)
    assert dense_correspondence(fq, fk).tolist() == [[2, 0, 0]]


def test_densecl_loss_hand_computed():
    # N = 1, D = 2, S = 2, one negative in each queue; tau 0.5, lambda 0.5
    q, k = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    queue = torch.tensor([[0.0], [1.0]])                               # orthogonal to q
    q_dense = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])                 # cells x and y
    k_dense = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])                 # cells y and x
    match = torch.tensor([[1, 0]])                                     # q0 <-> k1 (= x), q1 <-> k0 (= y)
    queue2 = torch.tensor([[1.0], [0.0]])                              # the negative is x
    single, dense = densecl_loss(q, k, queue, q_dense, k_dense, match, queue2, 0.5, 0.5)
    # global: logits [1, 0]/0.5 -> CE = log(1 + e^-2)
    assert single.item() == pytest.approx(0.5 * math.log(1 + math.exp(-2)), abs=1e-6)
    # cell 0: positive x.x = 1, negative x.x = 1 -> log 2; cell 1: positive 1, negative y.x = 0 -> log(1 + e^-2)
    assert dense.item() == pytest.approx(0.5 * (math.log(2) + math.log(1 + math.exp(-2))) / 2, abs=1e-6)


def test_densecl_loss_equals_loop():
    torch.manual_seed(0)
    N, D, S, K, tau, lam = 2, 6, 4, 5, 0.2, 0.5
    q, k = F.normalize(torch.randn(N, D), dim=1), F.normalize(torch.randn(N, D), dim=1)
    qd, kd = F.normalize(torch.randn(N, D, S), dim=1), F.normalize(torch.randn(N, D, S), dim=1)
    Q, Q2 = F.normalize(torch.randn(D, K), dim=0), F.normalize(torch.randn(D, K), dim=0)
    fq, fk = torch.randn(N, 7, S), torch.randn(N, 7, S)
    match = dense_correspondence(fq, fk)
    single, dense = densecl_loss(q, k, Q, qd, kd, match, Q2, tau, lam)

    def ce(pos, negs):
        return -math.log(math.exp(pos / tau) / (math.exp(pos / tau) + sum(math.exp(n / tau) for n in negs)))
    g = sum(ce(float(q[n] @ k[n]), [float(q[n] @ Q[:, j]) for j in range(K)]) for n in range(N)) / N
    terms = []
    for n in range(N):
        for i in range(S):
            cos = [float(F.cosine_similarity(fq[n, :, i], fk[n, :, j], dim=0)) for j in range(S)]
            j = max(range(S), key=lambda t: cos[t])
            terms.append(ce(float(qd[n, :, i] @ kd[n, :, j]), [float(qd[n, :, i] @ Q2[:, t]) for t in range(K)]))
    assert single.item() == pytest.approx((1 - lam) * g, rel=1e-5)
    assert dense.item() == pytest.approx(lam * sum(terms) / len(terms), rel=1e-5)


def test_shuffled_forward_tuple_outputs_come_back_in_order():
    torch.manual_seed(0)
    enc = DenseCLEncoder("resnet18", 16, 8).eval()   # eval BN: chunking and shuffling change nothing
    x = torch.randn(6, 3, 64, 64)
    ref = enc(x)
    out = shuffled_forward(enc, x, 3, torch.Generator().manual_seed(5))
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_model_step_queues_and_gradients():
    torch.manual_seed(0)
    m = DenseCL("resnet18", hidden=16, dim=8, K=8, tau=0.2, lam=0.5, bn_splits=2, seed=0)
    x = torch.randn(4, 3, 64, 64)
    out = m([x, x.flip(-1)])
    assert torch.isfinite(out["loss"]) and int(m.queue_ptr) == 4
    torch.testing.assert_close(out["loss"].detach(), out["loss_single"] + out["loss_dense"])
    torch.testing.assert_close(m.queue2.norm(dim=0), torch.ones(8))
    out["loss"].backward()
    assert m.encoder_q.mlp2[0].weight.grad is not None and m.encoder_k.mlp2[0].weight.grad is None


def test_paper_schedules_first_middle_last():
    tr = recipe("densecl", "paper").train
    ipe = 118287 // 256
    total = tr.epochs * ipe
    assert [momentum_at(i, total, tr.ema) for i in (0, total // 2, total - 1)] == [0.999] * 3
    assert lr_at(0, total, ipe, 0.3, tr.schedule) == pytest.approx(0.3)
    assert lr_at(400 * ipe, total, ipe, 0.3, tr.schedule) == pytest.approx(0.15, rel=1e-6)  # half way, per epoch
    assert lr_at(total - 1, total, ipe, 0.3, tr.schedule) == pytest.approx(0.3 * 0.5 * (1 + math.cos(math.pi * 799 / 800)))


def test_losses_equal_the_official_code_on_the_same_inputs():
    """tests/fixtures/densecl_official.json: WXinlong/DenseCL's own forward_train and ContrastiveHead
    (b64bbb6) on fixed encoder outputs (how: tests/fixtures/make_densecl_official.py). The same
    tensors through dense_correspondence and densecl_loss give the same two loss terms."""
    import json
    from pathlib import Path
    d = json.loads((Path(__file__).parents[1] / "fixtures" / "densecl_official.json").read_text())
    t = {k: torch.tensor(v) for k, v in d["inputs"].items()}
    N, C = t["q_b"].shape[:2]
    match = dense_correspondence(t["q_b"].view(N, C, -1), t["k_b"].view(N, C, -1))
    single, dense = densecl_loss(F.normalize(t["q"], dim=1), F.normalize(t["k"], dim=1), t["queue"],
                                 F.normalize(t["q_grid"], dim=1), F.normalize(t["k_grid"], dim=1), match,
                                 t["queue2"], tau=0.2, lam=0.5)
    assert single.item() == pytest.approx(d["outputs"]["loss_contra_single"], rel=1e-5)
    assert dense.item() == pytest.approx(d["outputs"]["loss_contra_dense"], rel=1e-5)
