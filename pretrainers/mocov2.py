"""MoCo v2 (Chen et al. 2020, "Improved Baselines with Momentum Contrastive Learning").

Method: a query encoder f_q (ResNet + MLP head 2048-2048-128) and a key encoder f_k, an exponential
moving average of f_q with momentum m = 0.999. For two augmented views x_q, x_k of an image,
q = normalize(f_q(x_q)), k = normalize(f_k(x_k)); the loss is InfoNCE with the positive k and the
negatives of a queue of past keys (K = 65536), temperature T = 0.2:
    L = CE([q.k+, q.queue] / T, 0).
Keys are computed with shuffled BN (batch shuffled across GPUs) so BN statistics cannot leak the
positive. Source of facts: facebookresearch/moco `main_moco.py`, `moco/builder.py`.
Exports the query encoder (`module.encoder_q.` in the official checkpoint).

Deviation, named: on one process, shuffle-BN is emulated by forwarding the batch in
`bn_splits` chunks (queries in order, keys after a seeded shuffle), as MoCo's own single-GPU demo
does with split BN; with several processes the real cross-process shuffle is used.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import Dataset

from harness.engine import dist as bdist
from harness.registry import METHODS
from pretrainers.augment import PAPER_BLUR_SIGMA, TwoViews, mocov2_view
from pretrainers.base import ImageFiles, Method, ema_update


def moco_infonce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, T: float) -> torch.Tensor:
    """InfoNCE of MoCo. q, k: [N, C] L2-normalised; queue: [C, K] L2-normalised negatives.

    logits = [q.k, q.queue] / T  ([N, 1+K]); the positive is column 0. Returns the mean CE.
    """
    l_pos = (q * k).sum(dim=1, keepdim=True)            # [N, 1]
    l_neg = q @ queue                                   # [N, K]
    logits = torch.cat([l_pos, l_neg], dim=1) / T       # [N, 1+K]
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))


def resnet_with_mlp(arch: str, dim: int) -> nn.Module:
    """torchvision ResNet whose fc is the MoCo v2 MLP head: Linear(d,d)-ReLU-Linear(d,dim)."""
    net = getattr(torchvision.models, arch)(weights=None)
    d = net.fc.in_features
    net.fc = nn.Sequential(nn.Linear(d, d), nn.ReLU(inplace=True), nn.Linear(d, dim))
    return net


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


class MoCo(nn.Module):
    def __init__(self, arch: str, dim: int, K: int, T: float, bn_splits: int, seed: int) -> None:
        super().__init__()
        self.T, self.bn_splits, self.seed = T, bn_splits, seed
        self.encoder_q = resnet_with_mlp(arch, dim)
        self.encoder_k = resnet_with_mlp(arch, dim)
        self.encoder_k.load_state_dict(self.encoder_q.state_dict())
        for p in self.encoder_k.parameters():
            p.requires_grad = False
        self.register_buffer("queue", F.normalize(torch.randn(dim, K), dim=0))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))  # seeds the key shuffle

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        ema_update([(self.encoder_q, self.encoder_k)], m)

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        x_q, x_k = batch                                                   # [N, 3, H, W] each
        q = F.normalize(shuffled_forward(self.encoder_q, x_q, self.bn_splits, None), dim=1)   # [N, C]
        with torch.no_grad():
            gen = torch.Generator().manual_seed(self.seed * 100_003 + int(self.step))
            k = F.normalize(shuffled_forward(self.encoder_k, x_k, self.bn_splits, gen), dim=1)
        loss = moco_infonce(q, k, self.queue.clone().detach(), self.T)
        enqueue([self.queue], self.queue_ptr, [k])
        self.step += 1
        return {"loss": loss}


COCO = {"layout": "coco", "split": "train"}

PROFILES: dict[str, dict[str, Any]] = {
    # MoCo v2 on COCO, as DenseCL/ORL re-implemented it (PROTOCOLS.md): 800 epochs, batch 256,
    # SGD lr 0.3, wd 1e-4, cosine (main_moco.py decays per epoch), K 65536, T 0.2, m 0.999.
    "paper": {"arch": "resnet50", "data": COCO, "epochs_label": 800, "dim": 128, "K": 65536, "T": 0.2,
              "crop": 224, "bn_splits": 8,
              "train": {"epochs": 800, "batch_size": 256, "workers": 8, "ckpt_every": 1000,
                        "optimizer": {"name": "sgd", "lr": 0.3, "momentum": 0.9, "weight_decay": 1e-4},
                        "schedule": {"name": "cosine", "per": "epoch"},
                        "ema": {"base": 0.999, "schedule": "fixed"}}},
    # mini: ResNet-18, 64 px views, synthetic COCO (600 images), the paper's augmentations (colour
    # jitter and greyscale included). Named deviations, for a few CPU minutes: queue 256 (smaller
    # than one epoch, so it never holds a copy of the positive), momentum 0.99 (0.999 barely moves
    # the key encoder in a few hundred steps), batch 32 with split-BN chunks of 16, and LARS (lr 1.0,
    # eta 0.001, 1-D parameters excluded, as BYOL/PixPro/SlotCon) instead of SGD: in 540 steps SGD
    # mostly rewrote the stem and moved later stages by 5-15%, and its checkpoint fine-tuned below
    # random init on coco_det; with LARS every stage moves at the same relative rate (README, "Why
    # version 1 did not separate them"). With SGD, colour jitter left the task barely learned; without
    # it the task is solved by colour and the features collapse onto few directions (inspect rank).
    # Blur sigma scaled to the view, 0.1-2.0 px x 64/224 (since 2026-11-24): the paper's
    # sigma is meant for 224 px views, and sigma 2 on a 64 px view blurs like sigma 7 on 224 px,
    # erasing the fine textures that tell the synthetic classes apart: the loss stayed near chance
    # (seed 1: 4.98, scaled 4.66) and the frozen probe below random init (README, "Segmentation").
    "mini": {"arch": "resnet18", "data": {**COCO, "synth": {}}, "epochs_label": 30, "dim": 128, "K": 256, "T": 0.2,
             "crop": 64, "bn_splits": 2, "colour_aug": True, "blur_sigma": [s * 64 / 224 for s in PAPER_BLUR_SIGMA],
             "train": {"epochs": 30, "batch_size": 32, "workers": 2, "ckpt_every": 100,
                       "optimizer": {"name": "lars", "lr": 1.0, "momentum": 0.9, "weight_decay": 1e-4,
                                     "exclude_1d": True},
                       "schedule": {"name": "cosine", "per": "iter"},
                       "ema": {"base": 0.99, "schedule": "fixed"}}},
}


@METHODS.register("mocov2")
class MoCoV2(Method):
    name = "mocov2"
    description = "MoCo v2: momentum contrast with a queue of negatives, MLP head, shuffle-BN (baseline)"
    profiles = PROFILES
    export_encoder = "online"

    def build(self, cfg: dict[str, Any]) -> nn.Module:
        return MoCo(cfg["arch"], cfg["dim"], cfg["K"], cfg["T"], cfg["bn_splits"], cfg.get("seed", 0))

    def dataset(self, cfg: dict[str, Any], files: list[Path]) -> Dataset:
        return ImageFiles(files, TwoViews(mocov2_view(cfg["crop"], colour=cfg.get("colour_aug", True),
                                                      blur_sigma=tuple(cfg.get("blur_sigma", PAPER_BLUR_SIGMA)))))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.encoder_q
