"""BYOL (Grill et al. 2020) as ORL's stage 1 runs it on COCO (Xie et al. 2021, "Unsupervised
Object-Level Representation Learning from Scene Images").

Method: an online network (ResNet, projector) followed by a predictor, and a target network
(ResNet, projector) that is an EMA of the online one, m = 1 - (1 - 0.99)(cos(pi k / K) + 1) / 2.
For two views v, v' of an image, p = predictor(projector(f(v))), z' = target(v') (no gradient);
    L(v, v') = 2 - 2 cos(p, z'),   loss = L(v, v') + L(v', v)   (batch means).
Projector and predictor are MLPs fc 2048-4096-BN-ReLU-256 without biases (ORL's neck/predictor:
num_layers 2, with_bias False, with_last_bn False). OpenSelfSup's head writes the loss as -2 cos,
which differs by the constant 4 and has the same gradient. Facts from Jiahao000/ORL
`configs/selfsup/orl/coco/stage1` and OpenSelfSup's `models/byol.py`, `heads/latent_pred_head.py`,
`hooks/byol_hook.py`; exports the online backbone (`backbone.`) and keeps the online projector
beside it (heads file: ORL's stage 2 needs it). Recipes: recipes/byol.yaml.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import Dataset

from harness.api import Method
from harness.recipe import Recipe
from pretrainers.augment import PAPER_BLUR_SIGMA, TwoViews, byol_view
from pretrainers.base import ImageFiles, ema_update


# ----------------------------------------------------------------------------- the paper's function
def byol_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """mean over the batch of 2 - 2 cos(p, z). p: [N, D] online prediction; z: [N, D] target projection."""
    return (2 - 2 * F.cosine_similarity(p, z.detach(), dim=1)).mean()


# ----------------------------------------------------------------------------- the model
def mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    """fc d_in-hidden, BN, ReLU, fc hidden-d_out; no biases (ORL's NonLinearNeckSimCLR, with_bias False)."""
    return nn.Sequential(nn.Linear(d_in, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, d_out, bias=False))


class BYOL(nn.Module):
    def __init__(self, arch: str, hidden: int, dim: int) -> None:
        super().__init__()
        self.backbone = getattr(torchvision.models, arch)(weights=None)
        c5 = self.backbone.fc.in_features
        self.backbone.fc = nn.Identity()                               # f(v): [N, C5] after average pooling
        self.projector = mlp(c5, hidden, dim)
        self.predictor = mlp(dim, hidden, dim)
        self.backbone_t, self.projector_t = copy.deepcopy(self.backbone), copy.deepcopy(self.projector)
        for p in [*self.backbone_t.parameters(), *self.projector_t.parameters()]:
            p.requires_grad = False

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        ema_update([(self.backbone, self.backbone_t), (self.projector, self.projector_t)], m)

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        v1, v2 = batch                                                 # [N, 3, S, S] each
        p1 = self.predictor(self.projector(self.backbone(v1)))         # [N, D]
        p2 = self.predictor(self.projector(self.backbone(v2)))
        with torch.no_grad():
            z1 = self.projector_t(self.backbone_t(v1))
            z2 = self.projector_t(self.backbone_t(v2))
        return {"loss": byol_loss(p1, z2) + byol_loss(p2, z1)}


@dataclass(frozen=True)
class BYOLParams:
    hidden: int                # projector / predictor hidden width
    dim: int                   # projection dim
    crop: int                  # view side in px
    colour_aug: bool = True    # colour jitter + greyscale of BYOL's photometric pipeline
    blur_sigma: tuple[float, ...] = PAPER_BLUR_SIGMA  # Gaussian blur sigma range, px of the view (paper: 224 px views)


class BYOLMethod(Method):
    Params = BYOLParams

    def build(self, recipe: Recipe, seed: int) -> nn.Module:
        p = self.params(recipe)
        return BYOL(recipe.arch, p.hidden, p.dim)

    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        p = self.params(recipe)
        blur = tuple(p.blur_sigma)
        return ImageFiles(files, TwoViews(byol_view(p.crop, 1, colour=p.colour_aug, blur_sigma=blur),
                                          byol_view(p.crop, 2, colour=p.colour_aug, blur_sigma=blur)))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.backbone

    def heads(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The online projector (ORL's stage 2 retrieves neighbour images by backbone + projector)."""
        return {f"projector.{k}": v.detach().cpu() for k, v in model.projector.state_dict().items()}
