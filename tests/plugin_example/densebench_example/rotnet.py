"""RotNet (Gidaris et al. 2018, "Unsupervised Representation Learning by Predicting Image Rotations").

Method: each image is rotated by r in {0, 90, 180, 270} degrees; a ResNet followed by a linear head
predicts r:  L = CE(head(f(rot_r(x))), r), averaged over the four rotations of every image.
Exports the ResNet (fc dropped by the canonical writer). Recipes: recipes/rotnet.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn
from torch.utils.data import Dataset
from torchvision import transforms as T

from harness.api import Method
from harness.backbone import IMAGENET_NORM
from harness.recipe import Recipe


def rotation_loss(logits: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """logits: [4N, 4] scores of the four rotations; rotations: [4N] the applied one (0..3)."""
    return F.cross_entropy(logits, rotations)


class RotNetModel(nn.Module):
    def __init__(self, arch: str) -> None:
        super().__init__()
        self.net = getattr(torchvision.models, arch)(weights=None)
        self.net.fc = nn.Linear(self.net.fc.in_features, 4)

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        (x,) = batch                                                       # [N, 3, S, S]
        views = torch.cat([torch.rot90(x, r, (2, 3)) for r in range(4)])   # [4N, 3, S, S]
        rotations = torch.arange(4, device=x.device).repeat_interleave(len(x))
        return {"loss": rotation_loss(self.net(views), rotations)}


class _Images(Dataset):
    def __init__(self, files: list[Path], crop: int) -> None:
        self.files = files
        self.tf = T.Compose([T.RandomResizedCrop(crop, scale=(0.5, 1.0)), T.ToTensor(),
                             T.Normalize(IMAGENET_NORM["mean"], IMAGENET_NORM["std"])])

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor]:
        with Image.open(self.files[i]) as im:
            return (self.tf(im.convert("RGB")),)


@dataclass(frozen=True)
class RotNetParams:
    crop: int  # view side in px


class RotNet(Method):
    Params = RotNetParams

    def build(self, recipe: Recipe, seed: int) -> nn.Module:
        return RotNetModel(recipe.arch)

    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        return _Images(files, self.params(recipe).crop)

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.net
