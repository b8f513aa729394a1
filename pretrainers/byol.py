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
`hooks/byol_hook.py`; exports the online backbone (`backbone.`).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import Dataset

from harness.registry import METHODS
from pretrainers.augment import TwoViews, byol_view
from pretrainers.base import ImageFiles, Method, ema_update


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


# ----------------------------------------------------------------------------- recipes
COCO = {"layout": "coco", "split": "train"}
PROFILES: dict[str, dict[str, Any]] = {
    # ORL stage 1 on COCO: 800 epochs, batch 512, SGD lr 0.4 m 0.9 wd 1e-4, 4 linear warm-up epochs
    # from lr x 1e-4 (OpenSelfSup's BYOL warmup_ratio), cosine to 0 stepped per epoch (its
    # CosineAnnealing is by epoch), EMA 0.99 -> 1, 224 crops (0.08, 1), BYOL asymmetric photometrics.
    "paper": {"arch": "resnet50", "data": COCO, "epochs_label": 800, "hidden": 4096, "dim": 256, "crop": 224,
              "train": {"epochs": 800, "batch_size": 512, "workers": 8, "ckpt_every": 1000,
                        "optimizer": {"name": "sgd", "lr": 0.4, "momentum": 0.9, "weight_decay": 1e-4},
                        "schedule": {"name": "cosine", "per": "epoch", "warmup_epochs": 4, "warmup_from": 1e-4},
                        "ema": {"base": 0.99, "schedule": "cosine"}}},
    # mini: ResNet-18, 64 px views, projector/predictor hidden 1024, batch 32, lr 0.05 (0.4 x 32/256),
    # 2 warm-up epochs of 30, no colour jitter/greyscale (as MoCo v2 mini, see pretrainers/mocov2.py).
    "mini": {"arch": "resnet18", "data": {**COCO, "synth": {}}, "epochs_label": 30, "hidden": 1024, "dim": 256,
             "crop": 64, "colour_aug": False,
             "train": {"epochs": 30, "batch_size": 32, "workers": 2, "ckpt_every": 100,
                       "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4},
                       "schedule": {"name": "cosine", "per": "iter", "warmup_epochs": 2, "warmup_from": 1e-4},
                       "ema": {"base": 0.99, "schedule": "cosine"}}},
}


@METHODS.register("byol")
class BYOLMethod(Method):
    name = "byol"
    description = "BYOL: predict an EMA target's projection of the other view (ORL stage-1 recipe on COCO)"
    profiles = PROFILES
    export_encoder = "online"

    def build(self, cfg: dict[str, Any]) -> nn.Module:
        return BYOL(cfg["arch"], cfg["hidden"], cfg["dim"])

    def dataset(self, cfg: dict[str, Any], files: list[Path]) -> Dataset:
        colour = cfg.get("colour_aug", True)
        return ImageFiles(files, TwoViews(byol_view(cfg["crop"], 1, colour=colour),
                                          byol_view(cfg["crop"], 2, colour=colour)))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.backbone
