"""What a registered pre-training method provides. The engine (harness.engine) does the rest.

A method declares its profiles as data: `profiles[name]` is a dict with
    arch: torchvision ResNet name;  data: {layout, split, synth?};  train: TrainSpec fields;
    epochs_label: what to record as pre-training epochs;  plus method-specific hyper-parameters.
`paper` profiles are the published recipes unchanged; `mini` runs the same code on synthetic data.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from harness.errors import BenchError


class Method(ABC):
    name: str = ""
    description: str = ""
    profiles: dict[str, dict[str, Any]] = {}
    export_encoder: str = "online"  # which encoder the authors export: online or ema

    def config(self, profile: str) -> dict[str, Any]:
        if profile not in self.profiles:
            raise BenchError(f"method '{self.name}' has no profile '{profile}' (has: {', '.join(self.profiles)})")
        return self.profiles[profile]

    @abstractmethod
    def build(self, cfg: dict[str, Any]) -> torch.nn.Module:
        """The full pre-training model: forward(batch) -> {'loss': ..., **logs}."""

    @abstractmethod
    def dataset(self, cfg: dict[str, Any], files: list[Path]) -> Dataset:
        """The pre-training data set over image files (labels unused)."""

    @abstractmethod
    def backbone(self, model: torch.nn.Module) -> torch.nn.Module:
        """The torchvision-named ResNet to export (fc is dropped by the canonical writer)."""

    def heads(self, model: torch.nn.Module) -> dict[str, torch.Tensor]:
        """Extra tensors worth keeping beside the backbone (e.g. SlotCon's prototypes for inspection);
        written to heads.safetensors next to the canonical checkpoint. None by default."""
        return {}


class ImageFiles(Dataset):
    """Images from a list of files (labels unused); transform(PIL RGB image) -> tuple of tensors."""

    def __init__(self, files: list[Path], transform: Any) -> None:
        self.files, self.transform = files, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Any:
        with Image.open(self.files[i]) as im:
            return self.transform(im.convert("RGB"))


@torch.no_grad()
def ema_update(pairs: list[tuple[torch.nn.Module, torch.nn.Module]], m: float) -> None:
    """target <- m * target + (1 - m) * online, parameter by parameter, for each (online, target) pair."""
    for online, target in pairs:
        for pt, po in zip(target.parameters(), online.parameters()):
            pt.mul_(m).add_(po.detach(), alpha=1 - m)


# recipe pieces shared by PixPro and SlotCon (SlotCon's schedule is PixPro's: ../shared/PROTOCOLS.md)
LARS_LINEAR = {"name": "lars", "lr": 1.0, "lr_scaling": "linear", "momentum": 0.9, "weight_decay": 1e-5, "exclude_1d": True}
WARMUP_COSINE = {"name": "cosine", "per": "iter", "warmup_epochs": 5, "warmup_from": 0.01, "final_lr": 1e-6}
EMA_COSINE = {"base": 0.99, "schedule": "cosine"}


def resnet_c5(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The C5 feature map of a torchvision ResNet (before pooling): [N, 3, S, S] -> [N, C5, S/32, S/32]."""
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer4(net.layer3(net.layer2(net.layer1(x))))
