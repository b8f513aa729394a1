"""Pre-training methods. Importing this package registers the built-ins in harness.registry.METHODS.

`random` is the random-initialisation reference: torchvision's default ResNet init, no training.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torchvision
from torch.utils.data import Dataset

from harness.registry import METHODS
from pretrainers import byol, densecl, mocov2, pixpro, slotcon  # noqa: F401  (registers)
from pretrainers.base import Method


@METHODS.register("random")
class RandomInit(Method):
    name = "random"
    description = "reference: torchvision's default random initialisation, no pre-training"
    profiles = {"paper": {"arch": "resnet50", "epochs_label": 0, "train": None},
                "mini": {"arch": "resnet18", "epochs_label": 0, "train": None}}

    def build(self, cfg: dict[str, Any]) -> torch.nn.Module:
        return getattr(torchvision.models, cfg["arch"])(weights=None)

    def dataset(self, cfg: dict[str, Any], files: list[Path]) -> Dataset:
        raise TypeError("the random-init reference has no pre-training data")

    def backbone(self, model: torch.nn.Module) -> torch.nn.Module:
        return model
