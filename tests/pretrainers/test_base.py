"""pretrainers/base.py: the EMA update."""
import pytest
import torch
import torchvision

from pretrainers.base import ema_update


def test_ema_update_matches_moco_formula():
    torch.manual_seed(0)
    pairs = [(torchvision.models.resnet18(), torchvision.models.resnet18()), (torch.nn.Linear(5, 3), torch.nn.Linear(5, 3))]
    before = [[p.detach().clone() for p in t.parameters()] for _, t in pairs]
    m = 0.99
    ema_update(pairs, m)
    for (online, target), old in zip(pairs, before):
        for pt, po, p0 in zip(target.parameters(), online.parameters(), old):
            # MoCo's builder.py: param_k.data = param_k.data * m + param_q.data * (1. - m)
            assert torch.allclose(pt, p0 * m + po * (1 - m), rtol=0, atol=1e-6)
    assert not any(p.grad is not None for _, t in pairs for p in t.parameters())


def test_ema_update_hand_values_and_mismatched_pairs():
    online, target = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    with torch.no_grad():
        online.weight.fill_(2.0), online.bias.fill_(-1.0), target.weight.fill_(1.0), target.bias.fill_(1.0)
    ema_update([(online, target)], 0.75)
    assert target.weight.item() == 1.25 and target.bias.item() == 0.5  # 0.75 * 1 + 0.25 * 2; 0.75 - 0.25
    with pytest.raises(ValueError, match="2 online and 4 target"):
        ema_update([(online, torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)))], 0.5)
