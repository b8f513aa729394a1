"""MoCo v2 (Chen et al. 2020, "Improved Baselines with Momentum Contrastive Learning").

Method: a query encoder f_q (ResNet + MLP head 2048-2048-128) and a key encoder f_k, an exponential
moving average of f_q with momentum m = 0.999. For two augmented views x_q, x_k of an image,
q = normalize(f_q(x_q)), k = normalize(f_k(x_k)); the loss is InfoNCE with the positive k and the
negatives of a queue of past keys (K = 65536), temperature T = 0.2:
    L = CE([q.k+, q.queue] / T, 0).
Keys are computed with shuffled BN (batch shuffled across GPUs) so BN statistics cannot leak the
positive (pretrainers.moco_family, shared with DenseCL). Source of facts: facebookresearch/moco
`main_moco.py`, `moco/builder.py`. Exports the query encoder (`module.encoder_q.` in the official
checkpoint). Recipes: recipes/mocov2.yaml.
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
from pretrainers.base import ImageFiles
from pretrainers.moco_family import MomentumContrast, moco_infonce


def resnet_with_mlp(arch: str, dim: int) -> nn.Module:
    """torchvision ResNet whose fc is the MoCo v2 MLP head: Linear(d,d)-ReLU-Linear(d,dim)."""
    net = getattr(torchvision.models, arch)(weights=None)
    d = net.fc.in_features
    net.fc = nn.Sequential(nn.Linear(d, d), nn.ReLU(inplace=True), nn.Linear(d, dim))
    return net


class MoCo(MomentumContrast):
    def __init__(self, arch: str, dim: int, K: int, T: float, bn_splits: int, seed: int) -> None:
        encoder_q, encoder_k = resnet_with_mlp(arch, dim), resnet_with_mlp(arch, dim)
        super().__init__(encoder_q, encoder_k, dim, K, 1, bn_splits, seed)
        self.T = T

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        x_q, x_k = batch                                                   # [N, 3, H, W] each
        q = F.normalize(self.query(x_q), dim=1)                            # [N, C]
        k = F.normalize(self.key(x_k), dim=1)                              # [N, C], no gradient
        (queue,) = self.queues()
        loss = moco_infonce(q, k, queue, self.T)
        self.push([k])
        return {"loss": loss}


@dataclass(frozen=True)
class MoCoParams:
    dim: int                   # output of the MLP head
    K: int                     # queue length
    T: float                   # temperature
    crop: int                  # view side in px
    bn_splits: int             # split-BN chunks on one process (shuffle-BN emulation)
    colour_aug: bool = True    # colour jitter + greyscale of the MoCo v2 pipeline
    blur_sigma: tuple[float, ...] = PAPER_BLUR_SIGMA  # px of the view


class MoCoV2(Method):
    Params = MoCoParams

    def build(self, recipe: Recipe, seed: int) -> nn.Module:
        p = self.params(recipe)
        return MoCo(recipe.arch, p.dim, p.K, p.T, p.bn_splits, seed)

    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        p = self.params(recipe)
        return ImageFiles(files, TwoViews(mocov2_view(p.crop, colour=p.colour_aug, blur_sigma=tuple(p.blur_sigma))))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.encoder_q
