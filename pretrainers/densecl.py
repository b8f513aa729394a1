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
The MoCo skeleton (queues, shuffle-BN, key encoder) is pretrainers.moco_family. Recipes:
recipes/densecl.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import Dataset

from harness.api import Method
from harness.recipe import Recipe
from pretrainers.augment import PAPER_BLUR_SIGMA, TwoViews, mocov2_view
from pretrainers.base import ImageFiles, resnet_c5
from pretrainers.moco_family import MomentumContrast, moco_infonce


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


class DenseCL(MomentumContrast):
    def __init__(self, arch: str, hidden: int, dim: int, K: int, tau: float, lam: float, bn_splits: int,
                 seed: int) -> None:
        encoder_q, encoder_k = DenseCLEncoder(arch, hidden, dim), DenseCLEncoder(arch, hidden, dim)
        super().__init__(encoder_q, encoder_k, dim, K, 2, bn_splits, seed)  # queue: global, queue2: dense
        self.tau, self.lam = tau, lam

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        x_q, x_k = batch                                                   # [N, 3, H, W] each
        q, q_dense, _, fq = self.query(x_q)
        k, k_dense, k2, fk = self.key(x_k)                                 # no gradient
        with torch.no_grad():
            k, k_dense, k2 = F.normalize(k, dim=1), F.normalize(k_dense, dim=1), F.normalize(k2, dim=1)
            match = dense_correspondence(fq.detach(), fk)                  # [N, S]
        q, q_dense = F.normalize(q, dim=1), F.normalize(q_dense, dim=1)
        queue, queue2 = self.queues()
        single, dense = densecl_loss(q, k, queue, q_dense, k_dense, match, queue2, self.tau, self.lam)
        self.push([k, k2])
        return {"loss": single + dense, "loss_single": single.detach(), "loss_dense": dense.detach()}


@dataclass(frozen=True)
class DenseCLParams:
    hidden: int                # width of both necks
    dim: int                   # projection dim
    K: int                     # length of each queue
    tau: float                 # temperature
    lam: float                 # weight of the dense loss
    crop: int                  # view side in px
    bn_splits: int             # split-BN chunks on one process
    colour_aug: bool = True
    blur_sigma: tuple[float, ...] = PAPER_BLUR_SIGMA  # Gaussian blur sigma range, px of the view (paper: 224 px views)


class DenseCLMethod(Method):
    Params = DenseCLParams

    def build(self, recipe: Recipe, seed: int) -> nn.Module:
        p = self.params(recipe)
        return DenseCL(recipe.arch, p.hidden, p.dim, p.K, p.tau, p.lam, p.bn_splits, seed)

    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        p = self.params(recipe)
        return ImageFiles(files, TwoViews(mocov2_view(p.crop, colour=p.colour_aug, blur_sigma=tuple(p.blur_sigma))))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.encoder_q.backbone
