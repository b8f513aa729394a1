"""Pieces shared by the pre-trainers: image-file data sets, the EMA update, the C5 map.

The `Method` interface itself is harness.api.Method; recipes are data (recipes/<method>.yaml).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from harness.backbone import forward_to


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
    """target <- m * target + (1 - m) * online, parameter by parameter, for each (online, target) pair.

    Per parameter on purpose: two foreach operations over all parameters gave the same bits and no
    measurable gain on this CPU (4.3 ms per ResNet-18 pair either way, alone or beside a busy
    process: about 1.4 % of the mocov2 mini step; issue 24)."""
    for online, target in pairs:
        t, o = list(target.parameters()), list(online.parameters())
        if len(t) != len(o):  # zip would pair the wrong tensors or stop early without a word
            raise ValueError(f"EMA pair with {len(o)} online and {len(t)} target parameters")
        for pt, po in zip(t, o):
            pt.mul_(m).add_(po.detach(), alpha=1 - m)


def resnet_c5(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The C5 feature map of a torchvision ResNet (before pooling): [N, 3, S, S] -> [N, C5, S/32, S/32]."""
    return forward_to(net, x, "layer4")
