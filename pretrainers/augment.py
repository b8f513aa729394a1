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

from harness.backbone import IMAGENET_NORM

IMAGENET_MEAN, IMAGENET_STD = tuple(IMAGENET_NORM["mean"]), tuple(IMAGENET_NORM["std"])
PAPER_BLUR_SIGMA = (0.1, 2.0)  # px, for 224 px views (MoCo v2, BYOL)


class GaussianBlur:
    """PIL Gaussian blur with sigma drawn uniformly from `sigma` (as MoCo v2 and BYOL do)."""

    def __init__(self, sigma: tuple[float, float] = PAPER_BLUR_SIGMA) -> None:
        self.sigma = sigma

    def __call__(self, im: Image.Image) -> Image.Image:
        return im.filter(ImageFilter.GaussianBlur(radius=random.uniform(*self.sigma)))


def mocov2_view(size: int, scale: tuple[float, float] = (0.2, 1.0), colour: bool = True,
                blur_sigma: tuple[float, float] = PAPER_BLUR_SIGMA) -> T.Compose:
    """One MoCo v2 view: PIL image -> normalised float tensor [3, size, size].

    colour=False drops colour jitter and greyscale; blur_sigma (pixels of the view) other than the
    paper's (0.1, 2.0) for 224 px views scales the blur to smaller views (named `mini` deviations,
    see pretrainers/mocov2.py).
    """
    ops = [T.RandomResizedCrop(size, scale=scale)]
    if colour:
        ops += [T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), T.RandomGrayscale(p=0.2)]
    ops += [T.RandomApply([GaussianBlur(blur_sigma)], p=0.5), T.RandomHorizontalFlip(), T.ToTensor(),
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


def byol_photometric(view: int, colour: bool = True, blur_sigma: tuple[float, float] = PAPER_BLUR_SIGMA) -> T.Compose:
    """BYOL's asymmetric photometric pipeline (used by PixPro, SlotCon, ORL):
    colour jitter (0.4, 0.4, 0.2, 0.1) p 0.8, greyscale p 0.2, then view 1: blur p 1.0;
    view 2: blur p 0.1 and solarize p 0.2. PIL view -> normalised tensor. blur_sigma in px of the
    view (the paper's (0.1, 2.0) is for 224 px views; mini recipes scale it to theirs)."""
    ops = []
    if colour:
        ops += [T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), T.RandomGrayscale(p=0.2)]
    ops.append(T.RandomApply([GaussianBlur(blur_sigma)], p=1.0 if view == 1 else 0.1))
    if view == 2:
        ops.append(T.RandomSolarize(128, p=0.2))
    ops += [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return T.Compose(ops)


def byol_view(size: int, view: int, scale: tuple[float, float] = (0.08, 1.0), colour: bool = True,
              blur_sigma: tuple[float, float] = PAPER_BLUR_SIGMA) -> T.Compose:
    """One BYOL view (ORL stage 1): RandomResizedCrop(size, scale), horizontal flip, then the
    asymmetric photometric pipeline of `view` (1 or 2). PIL image -> normalised tensor [3, size, size]."""
    return T.Compose([T.RandomResizedCrop(size, scale=scale), T.RandomHorizontalFlip(),
                      byol_photometric(view, colour, blur_sigma)])


class GeometricTwoViews:
    """im -> (view1, view2, coord1, coord2): two crops with their geometry, photometric p1 / p2."""

    def __init__(self, crop: CropWithCoords, p1: Any, p2: Any) -> None:
        self.crop, self.p1, self.p2 = crop, p1, p2

    def __call__(self, im: Image.Image) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        v1, c1 = self.crop(im)
        v2, c2 = self.crop(im)
        return self.p1(v1), self.p2(v2), c1, c2


# ----------------------------------------------------------------------------- overlapping crop pairs
def _overlap_area(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    """Pixel area shared by two crops given as (top i, left j, height h, width w)."""
    (i1, j1, h1, w1), (i2, j2, h2, w2) = a, b
    return max(0, min(j1 + w1, j2 + w2) - max(j1, j2)) * max(0, min(i1 + h1, i2 + h2) - max(i1, i2))


class OverlappingCrops:
    """SlotCon's crop pair: im -> (view1, view2, box1, box2, flip1, flip2).

    Both crops are RandomResizedCrop(size, scale) with bicubic resampling; the second is redrawn (up
    to 10 tries, then unconstrained) until it shares at least `min_overlap` of its own area with the
    first. box_v = [x0, y0, x1, y1] is the two crops' intersection in view v's own frame, normalised
    to [0, 1] by the crop's width and height; a flipped view mirrors it (x -> 1 - x), so the box
    always names the same image region in the pixels the network sees. Facts from CVMI-Lab/SlotCon
    `data/transforms.py`; p1 / p2 are the photometric pipelines of the two views.
    """

    def __init__(self, size: int, p1: Any, p2: Any, scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3 / 4, 4 / 3), min_overlap: float = 0.01, flip_p: float = 0.5) -> None:
        self.size, self.p1, self.p2, self.scale, self.ratio = size, p1, p2, list(scale), list(ratio)
        self.min_overlap, self.flip_p = min_overlap, flip_p

    def _second(self, im: Image.Image, first: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        for _ in range(10):
            c = T.RandomResizedCrop.get_params(im, self.scale, self.ratio)
            if _overlap_area(c, first) >= self.min_overlap * c[2] * c[3]:
                return c
        return T.RandomResizedCrop.get_params(im, self.scale, self.ratio)

    def __call__(self, im: Image.Image) -> tuple[torch.Tensor, ...]:
        from torchvision.transforms import functional as TF
        c1 = T.RandomResizedCrop.get_params(im, self.scale, self.ratio)
        c2 = self._second(im, c1)
        # the intersection in original pixels (may be empty if the fallback crop missed the first)
        x0, y0 = max(c1[1], c2[1]), max(c1[0], c2[0])
        x1, y1 = min(c1[1] + c1[3], c2[1] + c2[3]), min(c1[0] + c1[2], c2[0] + c2[2])
        out_views, out_boxes, out_flips = [], [], []
        for (i, j, h, w), photometric in ((c1, self.p1), (c2, self.p2)):
            view = TF.resized_crop(im, i, j, h, w, [self.size, self.size], T.InterpolationMode.BICUBIC)
            box = torch.tensor([(x0 - j) / w, (y0 - i) / h, (x1 - j) / w, (y1 - i) / h])
            flip = random.random() < self.flip_p
            if flip:
                view, box = TF.hflip(view), torch.stack([1 - box[2], box[1], 1 - box[0], box[3]])
            out_views.append(photometric(view))
            out_boxes.append(box)
            out_flips.append(torch.tensor(flip))
        return (*out_views, *out_boxes, *out_flips)
