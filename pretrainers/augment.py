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


def mocov2_view(size: int, scale: tuple[float, float] = (0.2, 1.0), colour: bool = True) -> T.Compose:
    """One MoCo v2 view: PIL image -> normalised float tensor [3, size, size].

    colour=False drops colour jitter and greyscale (a named `mini` deviation, see pretrainers/mocov2.py).
    """
    ops = [T.RandomResizedCrop(size, scale=scale)]
    if colour:
        ops += [T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), T.RandomGrayscale(p=0.2)]
    ops += [T.RandomApply([GaussianBlur()], p=0.5), T.RandomHorizontalFlip(), T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return T.Compose(ops)


class TwoViews:
    """Apply view transforms t1 and t2 to the same image: im -> (v1, v2)."""

    def __init__(self, t1: Any, t2: Any | None = None) -> None:
        self.t1, self.t2 = t1, t2 or t1

    def __call__(self, im: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        return self.t1(im), self.t2(im)


# ----------------------------------------------------------------------------- views with geometry
class CropWithCoords:
    """RandomResizedCrop + horizontal flip that records where the view came from.

    Returns (PIL view, coord) with coord = [x0, y0, x1, y1] of the crop in original-image
    coordinates normalised by (W - 1, H - 1), as PixPro's RandomResizedCropCoord does. A flip is
    encoded by swapping x0 and x1 (so x0 > x1 marks a flipped view), as its RandomHorizontalFlipCoord does.
    """

    def __init__(self, size: int, scale: tuple[float, float] = (0.08, 1.0), ratio: tuple[float, float] = (3 / 4, 4 / 3),
                 interpolation: T.InterpolationMode = T.InterpolationMode.BILINEAR, flip_p: float = 0.5) -> None:
        self.size, self.scale, self.ratio, self.interpolation, self.flip_p = size, scale, ratio, interpolation, flip_p

    def __call__(self, im: Image.Image) -> tuple[Image.Image, torch.Tensor]:
        from torchvision.transforms import functional as TF
        i, j, h, w = T.RandomResizedCrop.get_params(im, list(self.scale), list(self.ratio))
        W, H = im.size
        coord = torch.tensor([j / (W - 1), i / (H - 1), (j + w - 1) / (W - 1), (i + h - 1) / (H - 1)])
        view = TF.resized_crop(im, i, j, h, w, [self.size, self.size], self.interpolation)
        if random.random() < self.flip_p:
            view, coord = TF.hflip(view), coord[[2, 1, 0, 3]]
        return view, coord


def byol_photometric(view: int, colour: bool = True) -> T.Compose:
    """BYOL's asymmetric photometric pipeline (used by PixPro, SlotCon, ORL):
    colour jitter (0.4, 0.4, 0.2, 0.1) p 0.8, greyscale p 0.2, then view 1: blur p 1.0;
    view 2: blur p 0.1 and solarize p 0.2. PIL view -> normalised tensor."""
    ops = []
    if colour:
        ops += [T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), T.RandomGrayscale(p=0.2)]
    ops.append(T.RandomApply([GaussianBlur()], p=1.0 if view == 1 else 0.1))
    if view == 2:
        ops.append(T.RandomSolarize(128, p=0.2))
    ops += [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return T.Compose(ops)


class GeometricTwoViews:
    """im -> (view1, view2, coord1, coord2): two crops with their geometry, photometric p1 / p2."""

    def __init__(self, crop: CropWithCoords, p1: Any, p2: Any) -> None:
        self.crop, self.p1, self.p2 = crop, p1, p2

    def __call__(self, im: Image.Image) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        v1, c1 = self.crop(im)
        v2, c2 = self.crop(im)
        return self.p1(v1), self.p2(v2), c1, c2
