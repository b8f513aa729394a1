"""DenseCL (Wang et al. 2021, "Dense Contrastive Learning for Self-Supervised Visual Pre-Training").

Method: MoCo v2 with a second, dense head. For a query view and a key view (the MoCo v2 pipeline),
the C5 map of each encoder feeds
- a global head (average pool, MLP 2048-2048-128) -> q, k, as in MoCo v2, with a queue Q;
- a dense head (1x1-conv MLP 2048-2048-128) -> q_i, k_j, one 128-d vector per C5 cell.
Each query cell i is matched to the key cell j* = argmax_j cos(f_i, f'_j) of the *backbone* C5
features f, f' (not the projections). The loss is
    L = (1 - lambda) CE([q.k+, q.Q] / tau) + lambda mean_i CE([q_i.k_j*, q_i.Q2] / tau),
with lambda = 0.5, tau = 0.2, two queues of 65536 keys; the dense queue Q2 stores the key view's
average-pooled dense projection. Not symmetrised. Key encoder: EMA with fixed m = 0.999, shuffle-BN.
Facts from WXinlong/DenseCL `openselfsup/models/densecl.py`, `necks.py` (DenseCLNeck) and
`configs/selfsup/densecl/densecl_coco_800ep.py`; exports the query backbone (`backbone.`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import Dataset

from harness.registry import METHODS
from pretrainers.augment import TwoViews, mocov2_view
from pretrainers.base import ImageFiles, Method, ema_update, resnet_c5
from pretrainers.mocov2 import enqueue, moco_infonce, shuffled_forward


# ----------------------------------------------------------------------------- the paper's functions
def dense_correspondence(fq: torch.Tensor, fk: torch.Tensor) -> torch.Tensor:
    """j*(i) = argmax_j cos(fq_i, fk_j) per image. fq, fk: [N, C, S] backbone cells -> [N, S] indices."""
    sim = torch.bmm(F.normalize(fq, dim=1).transpose(1, 2), F.normalize(fk, dim=1))   # [N, S_q, S_k]
    return sim.argmax(dim=2)


def densecl_loss(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, q_dense: torch.Tensor,
                 k_dense: torch.Tensor, match: torch.Tensor, queue2: torch.Tensor, tau: float,
                 lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(1 - lam) x global InfoNCE and lam x dense InfoNCE (returned separately).

    q, k: [N, D] L2-normalised global projections; queue, queue2: [D, K] normalised negatives;
    q_dense, k_dense: [N, D, S] L2-normalised (over D) dense projections; match: [N, S] = j*(i).
    The dense term averages CE([q_i.k_j*, q_i.Q2]/tau) over all N x S query cells.
    """
    N, D, S = q_dense.shape
    k_matched = torch.gather(k_dense, 2, match[:, None, :].expand(-1, D, -1))          # [N, D, S]: k_{j*(i)}
    qd = q_dense.transpose(1, 2).reshape(N * S, D)                                     # [N*S, D]
    kd = k_matched.transpose(1, 2).reshape(N * S, D)
    return (1 - lam) * moco_infonce(q, k, queue, tau), lam * moco_infonce(qd, kd, queue2, tau)


# ----------------------------------------------------------------------------- the model
class DenseCLEncoder(nn.Module):
    """ResNet + DenseCL neck: x [N, 3, H, W] -> (global [N, D], dense [N, D, S], pooled dense [N, D],
    backbone cells [N, C5, S]); S = (H/32) x (W/32)."""

    def __init__(self, arch: str, hidden: int, dim: int) -> None:
        super().__init__()
        self.backbone = getattr(torchvision.models, arch)(weights=None)
        c5 = self.backbone.fc.in_features
        self.backbone.fc = nn.Identity()  # unused: the C5 map is taken before pooling
        self.mlp = nn.Sequential(nn.Linear(c5, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim))
        self.mlp2 = nn.Sequential(nn.Conv2d(c5, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, dim, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        c5 = resnet_c5(self.backbone, x)                     # [N, C5, h, w]
        g = self.mlp(c5.mean((2, 3)))                        # [N, D]
        d = self.mlp2(c5)                                    # [N, D, h, w]
        return g, d.flatten(2), d.mean((2, 3)), c5.flatten(2)


class DenseCL(nn.Module):
    def __init__(self, arch: str, hidden: int, dim: int, K: int, tau: float, lam: float, bn_splits: int,
                 seed: int) -> None:
        super().__init__()
        self.tau, self.lam, self.bn_splits, self.seed = tau, lam, bn_splits, seed
        self.encoder_q = DenseCLEncoder(arch, hidden, dim)
        self.encoder_k = DenseCLEncoder(arch, hidden, dim)
        self.encoder_k.load_state_dict(self.encoder_q.state_dict())
        for p in self.encoder_k.parameters():
            p.requires_grad = False
        self.register_buffer("queue", F.normalize(torch.randn(dim, K), dim=0))
        self.register_buffer("queue2", F.normalize(torch.randn(dim, K), dim=0))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))  # seeds the key shuffle

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        ema_update([(self.encoder_q, self.encoder_k)], m)

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        x_q, x_k = batch                                                   # [N, 3, H, W] each
        q, q_dense, _, fq = shuffled_forward(self.encoder_q, x_q, self.bn_splits, None)
        with torch.no_grad():
            gen = torch.Generator().manual_seed(self.seed * 100_003 + int(self.step))
            k, k_dense, k2, fk = shuffled_forward(self.encoder_k, x_k, self.bn_splits, gen)
            k, k_dense, k2 = F.normalize(k, dim=1), F.normalize(k_dense, dim=1), F.normalize(k2, dim=1)
            match = dense_correspondence(fq.detach(), fk)                  # [N, S]
        q, q_dense = F.normalize(q, dim=1), F.normalize(q_dense, dim=1)
        single, dense = densecl_loss(q, k, self.queue.clone().detach(), q_dense, k_dense, match,
                                     self.queue2.clone().detach(), self.tau, self.lam)
        enqueue([self.queue, self.queue2], self.queue_ptr, [k, k2])
        self.step += 1
        return {"loss": single + dense, "loss_single": single.detach(), "loss_dense": dense.detach()}


# ----------------------------------------------------------------------------- recipes
COCO = {"layout": "coco", "split": "train"}
PROFILES: dict[str, dict[str, Any]] = {
    # densecl_coco_800ep.py: 800 epochs, batch 256 (8 x 32), SGD lr 0.3 m 0.9 wd 1e-4, cosine to 0,
    # queues 65536, dim 128, tau 0.2, lambda 0.5, m 0.999 fixed, MoCo v2 augmentation. The cosine
    # is stepped per epoch (OpenSelfSup's CosineAnnealing lr_config is by epoch).
    "paper": {"arch": "resnet50", "data": COCO, "epochs_label": 800, "hidden": 2048, "dim": 128, "K": 65536,
              "tau": 0.2, "lam": 0.5, "crop": 224, "bn_splits": 8,
              "train": {"epochs": 800, "batch_size": 256, "workers": 8, "ckpt_every": 1000,
                        "optimizer": {"name": "sgd", "lr": 0.3, "momentum": 0.9, "weight_decay": 1e-4},
                        "schedule": {"name": "cosine", "per": "epoch"},
                        "ema": {"base": 0.999, "schedule": "fixed"}}},
    # mini: as MoCo v2 mini (ResNet-18, queue 256, m 0.99, no colour jitter, split-BN 2 chunks, batch
    # 32, lr 0.03) with 96 px views so the C5 map has 3x3 cells to match densely.
    "mini": {"arch": "resnet18", "data": {**COCO, "synth": {}}, "epochs_label": 30, "hidden": 512, "dim": 128,
             "K": 256, "tau": 0.2, "lam": 0.5, "crop": 96, "bn_splits": 2, "colour_aug": False,
             "train": {"epochs": 30, "batch_size": 32, "workers": 2, "ckpt_every": 100,
                       "optimizer": {"name": "sgd", "lr": 0.03, "momentum": 0.9, "weight_decay": 1e-4},
                       "schedule": {"name": "cosine", "per": "iter"},
                       "ema": {"base": 0.99, "schedule": "fixed"}}},
}


@METHODS.register("densecl")
class DenseCLMethod(Method):
    name = "densecl"
    description = "DenseCL: MoCo v2 plus a dense head matched by backbone-feature argmax (lambda 0.5)"
    profiles = PROFILES
    export_encoder = "online"

    def build(self, cfg: dict[str, Any]) -> nn.Module:
        return DenseCL(cfg["arch"], cfg["hidden"], cfg["dim"], cfg["K"], cfg["tau"], cfg["lam"], cfg["bn_splits"],
                       cfg.get("seed", 0))

    def dataset(self, cfg: dict[str, Any], files: list[Path]) -> Dataset:
        return ImageFiles(files, TwoViews(mocov2_view(cfg["crop"], colour=cfg.get("colour_aug", True))))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.encoder_q.backbone
