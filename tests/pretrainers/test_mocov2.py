import math

import pytest
import torch
import torch.nn.functional as F

from pretrainers.moco_family import moco_infonce, shuffled_forward
from pretrainers.mocov2 import MoCo


def test_infonce_hand_computed():
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0]])
    queue = torch.tensor([[0.0], [1.0]])  # one negative, orthogonal to q
    # logits = [1, 0] / 0.5 = [2, 0]; CE = log(1 + e^-2)
    assert moco_infonce(q, k, queue, 0.5).item() == pytest.approx(math.log(1 + math.exp(-2)), abs=1e-6)


def test_infonce_equals_loop_implementation():
    torch.manual_seed(0)
    q, k = F.normalize(torch.randn(5, 8), dim=1), F.normalize(torch.randn(5, 8), dim=1)
    queue = F.normalize(torch.randn(8, 16), dim=0)
    T, total = 0.2, 0.0
    for i in range(5):
        pos = math.exp(float(q[i] @ k[i]) / T)
        negs = sum(math.exp(float(q[i] @ queue[:, j]) / T) for j in range(16))
        total += -math.log(pos / (pos + negs))
    assert moco_infonce(q, k, queue, T).item() == pytest.approx(total / 5, rel=1e-5)


def test_split_bn_forward_unshuffles_outputs():
    """Keys come back in input order whatever the shuffle; with BN in eval mode the result is exact."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten())
    x = torch.randn(8, 3, 5, 5)
    net.eval()
    ref = net(x)
    out = shuffled_forward(net, x, 4, torch.Generator().manual_seed(3))
    torch.testing.assert_close(out, ref)
    net.train()  # in train mode each chunk has its own BN statistics: outputs differ from one batch
    assert not torch.allclose(shuffled_forward(net, x, 4, torch.Generator().manual_seed(3)), net(x))


def test_queue_and_momentum_update():
    torch.manual_seed(0)
    m = MoCo("resnet18", dim=8, K=8, T=0.2, bn_splits=2, seed=0)
    x = torch.randn(4, 3, 32, 32)
    out = m([x, x.clone()])
    assert torch.isfinite(out["loss"]) and int(m.queue_ptr) == 4 and int(m.step) == 1
    torch.testing.assert_close(m.queue.norm(dim=0), torch.ones(8))
    out["loss"].backward()
    assert m.encoder_q.fc[0].weight.grad is not None and m.encoder_k.fc[0].weight.grad is None
    with torch.no_grad():
        m.encoder_q.conv1.weight.add_(1.0)
    k0 = m.encoder_k.conv1.weight.clone()
    m.momentum_update(0.9)
    torch.testing.assert_close(m.encoder_k.conv1.weight, 0.9 * k0 + 0.1 * m.encoder_q.conv1.weight)


def test_mini_blur_sigma_scaled_to_the_view():
    """The paper's blur sigma 0.1-2.0 px is for 224 px views; mini's 64 px views get it x 64/224,
    and the view pipeline really uses that sigma (paper: unchanged)."""
    from pretrainers.augment import GaussianBlur
    from harness.registry import METHODS
    from tests.conftest import recipe
    method = METHODS.load("mocov2")

    def blur_of(r):
        views = method.dataset(r, []).transform.t1.transforms
        return [t.transforms[0].sigma for t in views if hasattr(t, "transforms") and isinstance(t.transforms[0], GaussianBlur)]

    mini, paper = recipe("mocov2", "mini"), recipe("mocov2", "paper")
    assert mini.params["blur_sigma"] == pytest.approx([0.1 * mini.params["crop"] / 224, 2.0 * mini.params["crop"] / 224])
    assert blur_of(mini) == [pytest.approx((0.1 * 64 / 224, 2.0 * 64 / 224))]
    assert blur_of(paper) == [(0.1, 2.0)]


def test_infonce_equals_the_official_code_on_the_same_inputs():
    """tests/fixtures/moco_official.json: facebookresearch/moco's own MoCo.forward and main_moco.py's
    criterion (132aea9) on fixed encoder outputs, T 0.2 (how: tests/fixtures/make_moco_official.py)."""
    import json
    from pathlib import Path
    d = json.loads((Path(__file__).parents[1] / "fixtures" / "moco_official.json").read_text())
    t = {k: torch.tensor(v) for k, v in d["inputs"].items()}
    loss = moco_infonce(F.normalize(t["q"], dim=1), F.normalize(t["k"], dim=1), t["queue"], d["settings"]["T"])
    assert loss.item() == pytest.approx(d["outputs"]["loss"], rel=1e-5)
