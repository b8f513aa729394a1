"""Run by test_slotcon under torchrun (2 gloo processes): each holds half of a seeded batch."""
import sys

import torch

from harness.engine import dist as bdist
from pretrainers.slotcon import slot_loss, updated_center, valid_slots


def inputs() -> tuple[torch.Tensor, ...]:
    """Student slots q, teacher slots k [4, 6, 8] and score maps [4, 6, 3, 3] of 4 images."""
    g = torch.Generator().manual_seed(7)
    q, k = torch.randn(4, 6, 8, generator=g), torch.randn(4, 6, 8, generator=g)
    dq, dk = torch.randn(4, 6, 3, 3, generator=g), torch.randn(4, 6, 3, 3, generator=g)
    return q, k, dq, dk


if __name__ == "__main__":
    rank, world, _ = bdist.init_from_env()
    q, k, dq, dk = (t[rank * 2:(rank + 1) * 2] for t in inputs())
    loss = slot_loss(q, k, dq, dk, torch.nn.Identity(), 0.2)
    n = int((valid_slots(dq) & valid_slots(dk)).sum())
    c = updated_center(torch.zeros(1, 6), dk.permute(0, 2, 3, 1).flatten(0, 2), 0.9)
    # one write per line: the two ranks share stdout
    sys.stdout.write(f"RANK {rank} LOSS {loss.item():.8f} N {n} C {c.sum().item():.8f}\n")
    sys.stdout.flush()
