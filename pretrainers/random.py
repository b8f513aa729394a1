"""`random`: the random-initialisation reference, torchvision's default ResNet init, no training.

Its recipes (recipes/random.yaml) have no data and no train section: the harness exports the
freshly built network, seeded by the pre-training seed.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch.utils.data import Dataset

from harness.api import Method
from harness.recipe import Recipe


class RandomInit(Method):
    def build(self, recipe: Recipe, seed: int) -> torch.nn.Module:
        return getattr(torchvision.models, recipe.arch)(weights=None)

    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        raise TypeError("the random-init reference has no pre-training data")

    def backbone(self, model: torch.nn.Module) -> torch.nn.Module:
        return model
