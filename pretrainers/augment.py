"""Two-view augmentation pipelines shared by the pre-trainers.

MoCo v2 (facebookresearch/moco `main_moco.py`, --aug-plus): RandomResizedCrop(scale 0.2-1), colour
jitter (0.4, 0.4, 0.4, 0.1) with p 0.8, greyscale p 0.2, Gaussian blur sigma in [0.1, 2] with p 0.5,
horizontal flip, ImageNet normalisation. Both views use the same pipeline.
"""
from __future__ import annotations

import random
from typing import Any

import torch
from PIL import Image, ImageFilter
from torchvision import transforms as T

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class GaussianBlur:
    """PIL Gaussian blur with sigma drawn uniformly from `sigma` (as MoCo v2 and BYOL do)."""

    def __init__(self, sigma: tuple[float, float] = (0.1, 2.0)) -> None:
        self.sigma = sigma

    def __call__(self, im: Image.Image) -> Image.Image:
        return im.filter(ImageFilter.GaussianBlur(radius=random.uniform(*self.sigma)))


def mocov2_view(size: int, scale: tuple[float, float] = (0.2, 1.0)) -> T.Compose:
    """One MoCo v2 view: PIL image -> normalised float tensor [3, size, size]."""
    return T.Compose([
        T.RandomResizedCrop(size, scale=scale),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([GaussianBlur()], p=0.5),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


class TwoViews:
    """Apply view transforms t1 and t2 to the same image: im -> (v1, v2)."""

    def __init__(self, t1: Any, t2: Any | None = None) -> None:
        self.t1, self.t2 = t1, t2 or t1

    def __call__(self, im: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        return self.t1(im), self.t2(im)
