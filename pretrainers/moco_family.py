"""The momentum-contrast skeleton MoCo v2 and DenseCL share: a query encoder, its EMA key encoder,
ring-buffer queues of past keys, shuffle-BN, and MoCo's InfoNCE.

Facts from facebookresearch/moco `moco/builder.py` (`_dequeue_and_enqueue`,
`_batch_shuffle_ddp`, `_batch_unshuffle_ddp`). Deviation, named: on one process shuffle-BN is
emulated by forwarding the batch in `bn_splits` chunks with their own BN statistics (queries in
order, keys after a seeded shuffle), as MoCo's own single-GPU demo does with split BN; with several
processes the real cross-process shuffle is used.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from harness.engine import dist as bdist
from pretrainers.base import ema_update


def moco_infonce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, T: float) -> torch.Tensor:
    """InfoNCE of MoCo. q, k: [N, C] L2-normalised; queue: [C, K] L2-normalised negatives.

    logits = [q.k, q.queue] / T  ([N, 1+K]); the positive is column 0. Returns the mean CE.
    """
    l_pos = (q * k).sum(dim=1, keepdim=True)            # [N, 1]
    l_neg = q @ queue                                   # [N, K]
    logits = torch.cat([l_pos, l_neg], dim=1) / T       # [N, 1+K]
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))


def _cat(outs: list) -> Any:
    """Concatenate per-chunk encoder outputs along the batch: tensors or tuples of tensors."""
    return torch.cat(outs) if isinstance(outs[0], torch.Tensor) else tuple(torch.cat(o) for o in zip(*outs))


def _unpermute(y: Any, perm: torch.Tensor) -> Any:
    """Put batch rows of y (a tensor or tuple of tensors) back in the order before `perm`."""
    if not isinstance(y, torch.Tensor):
        return tuple(_unpermute(t, perm) for t in y)
    out = torch.empty_like(y)
    out[perm] = y
    return out


def shuffled_forward(encoder: nn.Module, x: torch.Tensor, splits: int, gen: torch.Generator | None) -> Any:
    """encoder(x) with shuffle-BN: across processes under DDP, else over `splits` chunks of one batch.

    With gen=None the batch is not shuffled (queries); chunks still get their own BN statistics.
    The encoder may return a tensor or a tuple of tensors with the batch first (DenseCL's heads).
    """
    world = bdist.world_size()
    if world > 1 and gen is not None:
        xs = bdist.all_gather_cat(x)                              # [N*world, ...]
        perm = torch.randperm(len(xs), generator=gen).to(x.device)  # same on every rank (same seed)
        r, n = bdist.rank(), len(x)
        y = encoder(xs[perm[r * n:(r + 1) * n]])
        ys = _unpermute(bdist.all_gather_cat(y) if isinstance(y, torch.Tensor)
                        else tuple(bdist.all_gather_cat(t) for t in y), perm)
        return ys[r * n:(r + 1) * n] if isinstance(ys, torch.Tensor) else tuple(t[r * n:(r + 1) * n] for t in ys)
    if world > 1 or splits <= 1:
        return encoder(x)
    perm = torch.randperm(len(x), generator=gen).to(x.device) if gen is not None else torch.arange(len(x), device=x.device)
    return _unpermute(_cat([encoder(c) for c in x[perm].chunk(splits)]), perm)


@torch.no_grad()
def enqueue(queues: list[torch.Tensor], ptr: torch.Tensor, keys: list[torch.Tensor]) -> None:
    """Write this step's keys of every process into the ring-buffer queues [C, K] at ptr, advance ptr.
    keys[i]: [N, C] goes into queues[i]; all queues share one pointer."""
    keys = [bdist.all_gather_cat(k) for k in keys]
    K, p, n = queues[0].shape[1], int(ptr), len(keys[0])
    assert K % n == 0, "queue size must be a multiple of the global batch"
    for q, k in zip(queues, keys):
        q[:, p:p + n] = k.T
    ptr.fill_((p + n) % K)


def _queue_name(i: int) -> str:
    return "queue" if i == 0 else f"queue{i + 1}"


class MomentumContrast(nn.Module):
    """Query encoder f_q, key encoder f_k (an EMA of f_q, no gradient), `n_queues` queues [dim, K] of
    past keys sharing one pointer, and a step counter that seeds the key shuffle."""

    def __init__(self, encoder_q: nn.Module, encoder_k: nn.Module, dim: int, K: int, n_queues: int,
                 bn_splits: int, seed: int) -> None:
        super().__init__()
        self.bn_splits, self.seed, self.n_queues = bn_splits, seed, n_queues
        self.encoder_q, self.encoder_k = encoder_q, encoder_k
        self.encoder_k.load_state_dict(self.encoder_q.state_dict())
        for p in self.encoder_k.parameters():
            p.requires_grad = False
        for i in range(n_queues):
            self.register_buffer(_queue_name(i), F.normalize(torch.randn(dim, K), dim=0))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def queues(self) -> list[torch.Tensor]:
        """Snapshots of the queues before this step's keys are pushed (negatives of this step)."""
        return [getattr(self, _queue_name(i)).clone().detach() for i in range(self.n_queues)]

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        ema_update([(self.encoder_q, self.encoder_k)], m)

    def query(self, x: torch.Tensor) -> Any:
        """f_q(x), split-BN on one process (queries are not shuffled)."""
        return shuffled_forward(self.encoder_q, x, self.bn_splits, None)

    @torch.no_grad()
    def key(self, x: torch.Tensor) -> Any:
        """f_k(x) with shuffle-BN; the shuffle is seeded by (seed, step), so a resumed run repeats it."""
        gen = torch.Generator().manual_seed(self.seed * 100_003 + int(self.step))
        return shuffled_forward(self.encoder_k, x, self.bn_splits, gen)

    @torch.no_grad()
    def push(self, keys: list[torch.Tensor]) -> None:
        """Enqueue this step's keys (one tensor [N, dim] per queue) and advance the step."""
        enqueue([getattr(self, _queue_name(i)) for i in range(self.n_queues)], self.queue_ptr, keys)
        self.step += 1
