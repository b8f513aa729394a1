"""hiergroup's training samples: two augmented views of an image and the pixels eq. (1) compares.

Both views are random resized crops (+ horizontal flip, colour jitter) of the image, `crop` px square;
the network's embedding is on a G x G grid (G = crop / 4). The image's finest regions (UCM, cached:
hiergroup_ucm) are read at the centres of view 1's grid cells; there the anchors, positives and
negatives are sampled (hiergroup_sampling, eqs. 2 and 3). Pos_aug / Neg_aug are the same image
points seen in view 2 (tau(Pos(i)), tau(Neg(i))): the grid cell of view 2 that holds each point, or
invalid when view 2 does not cover it. Cross-image negatives are drawn as offsets and pixels and
resolved to another image of the batch by the model (hiergroup_sampling.other_image).
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms as T
from torchvision.transforms import functional as TF

from pretrainers.augment import IMAGENET_MEAN, IMAGENET_STD
from pretrainers.hiergroup_sampling import cross_image_draws, sample_pixels


class View:
    """A random resized crop (top, left, height, width in image pixels) and a flip, with the maps
    between its G x G grid and image coordinates."""

    def __init__(self, im: Image.Image, grid: int, scale: tuple[float, float]) -> None:
        self.i, self.j, self.h, self.w = T.RandomResizedCrop.get_params(im, list(scale), [3 / 4, 4 / 3])
        self.flip, self.grid = random.random() < 0.5, grid

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Image (x, y) of every grid cell's centre, row-major [G * G] each."""
        g = (np.arange(self.grid) + 0.5) / self.grid
        u = g[::-1] if self.flip else g
        x = self.j + u[None, :] * self.w
        y = self.i + g[:, None] * self.h
        return np.broadcast_to(x, (self.grid, self.grid)).ravel(), np.broadcast_to(y, (self.grid, self.grid)).ravel()

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat grid cell holding image point (x, y), and whether this view covers it."""
        u = np.floor((x - self.j) / self.w * self.grid).astype(np.int64)
        v = np.floor((y - self.i) / self.h * self.grid).astype(np.int64)
        ok = (u >= 0) & (u < self.grid) & (v >= 0) & (v < self.grid)
        if self.flip:
            u = self.grid - 1 - u
        return np.where(ok, v * self.grid + u, 0), ok

    def image(self, im: Image.Image, size: int, photometric: Any) -> torch.Tensor:
        out = TF.resized_crop(im, self.i, self.j, self.h, self.w, [size, size])
        return photometric(TF.hflip(out) if self.flip else out)


class HierGroupData(Dataset):
    """Item: (view1 [3, S, S], view2 [3, S, S], anchors [A], pos [A, P], neg [A, N], pos2 [A, P],
    pos2_ok [A, P], neg2 [A, N], neg2_ok [A, N], cns_offset [A, C], cns_pixel [A, C]); pixel indices
    are flat cells of the G x G grid (view 1, or view 2 for *2)."""

    def __init__(self, files: list[Path], groupings: list[tuple[np.ndarray, np.ndarray]], p: Any) -> None:
        self.files, self.groupings, self.p = files, groupings, p
        self.grid = p.crop // 4
        ops = [T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8)] if p.colour_aug else []
        self.photometric = T.Compose([*ops, T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, k: int) -> tuple[Any, ...]:
        p = self.p
        with Image.open(self.files[k]) as f:
            im = f.convert("RGB")
        regions, d_T = self.groupings[k]
        rng = np.random.default_rng(np.random.randint(0, 2 ** 31 - 1))  # seeded per sample by the engine
        v1, v2 = View(im, self.grid, tuple(p.crop_scale)), View(im, self.grid, tuple(p.crop_scale))
        x, y = v1.centres()
        xi = np.clip(x.astype(np.int64), 0, regions.shape[1] - 1)
        yi = np.clip(y.astype(np.int64), 0, regions.shape[0] - 1)
        r1 = regions[yi, xi].reshape(self.grid, self.grid)
        s = sample_pixels(r1, d_T, rng, p.n_regions, p.n_pos, p.n_neg, p.sigma_p)
        pos2, pos2_ok = v2.cell_of(x[s.positives], y[s.positives])
        neg2, neg2_ok = v2.cell_of(x[s.negatives], y[s.negatives])
        cns_off, cns_pix = cross_image_draws(p.n_regions, p.cns, self.grid * self.grid, rng)
        t = torch.from_numpy
        return (v1.image(im, p.crop, self.photometric), v2.image(im, p.crop, self.photometric), t(s.anchors),
                t(s.positives), t(s.negatives), t(pos2), t(pos2_ok), t(neg2), t(neg2_ok), t(cns_off), t(cns_pix))
