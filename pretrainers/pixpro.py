"""PixPro and PixContrast (Xie et al. 2021, "Propagate Yourself").

Method: two crops of an image pass through an online encoder + projector (1x1-conv MLP on the C5
map) and a momentum (EMA) encoder + projector. Feature-map cells of the two views are *positive*
when their bin centres, mapped back to original-image coordinates, are closer than
T x max(bin diagonal of view 1, of view 2) (T = 0.7).
- PixPro: the online features go through the pixel propagation module (PPM)
      y_i = sum_j max(cos(x_i, x_j), 0)^gamma * normalize(g(x_j)),   g a 1x1 conv, gamma = 2,
  and the loss is -2 x the mean cosine between y_i and the momentum feature x'_j over positive
  pairs (per image, divided by #positives + 1e-6), averaged over the batch, symmetrised.
- PixContrast: InfoNCE over pixels, positives as above, negatives the other view's non-positive
  pixels, temperature tau (0.3, the paper's best in Table 3), symmetrised.
Facts from zdaxie/PixPro `contrast/models/PixPro.py` (featprop, regression_loss),
`contrast/data/transform.py` (coordinates) and `contrast/option.py` (recipe); exports the online
encoder (`module.encoder.` in the official checkpoint). The optional instance branch (off in the
authors' runs) is not implemented. Recipes: recipes/pixpro.yaml, recipes/pixcontrast.yaml.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import Dataset

from harness.api import Method
from harness.recipe import Recipe
from pretrainers.augment import PAPER_BLUR_SIGMA, CropWithCoords, GeometricTwoViews, byol_photometric
from pretrainers.base import ImageFiles, ema_update, resnet_c5


# ----------------------------------------------------------------------------- the paper's functions
def cell_centres(coord: torch.Tensor, H: int, W: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centres of the H x W feature bins of each view in normalised original coordinates.

    coord: [N, 4] = (x0, y0, x1, y1); x0 > x1 for a flipped view, so the bin width is negative and
    the centres run right to left. Returns cx, cy: [N, H*W] and the bin diagonal: [N].
    """
    x0, y0, x1, y1 = coord.unbind(1)
    bw, bh = (x1 - x0) / W, (y1 - y0) / H                                          # [N]
    xs = torch.arange(W, dtype=coord.dtype, device=coord.device) + 0.5
    ys = torch.arange(H, dtype=coord.dtype, device=coord.device) + 0.5
    cx = (x0[:, None, None] + xs[None, None, :] * bw[:, None, None]).expand(-1, H, W)   # [N, H, W]
    cy = (y0[:, None, None] + ys[None, :, None] * bh[:, None, None]).expand(-1, H, W)
    return cx.reshape(len(coord), -1), cy.reshape(len(coord), -1), torch.sqrt(bw ** 2 + bh ** 2)


def positive_mask(coord1: torch.Tensor, coord2: torch.Tensor, H: int, W: int, T: float) -> torch.Tensor:
    """pos[n, i, j] = 1 if cell i of view 1 and cell j of view 2 are closer than T x the larger bin
    diagonal. coord1, coord2: [N, 4]. Returns float [N, H*W, H*W]."""
    cx1, cy1, d1 = cell_centres(coord1, H, W)
    cx2, cy2, d2 = cell_centres(coord2, H, W)
    dist = torch.sqrt((cx1[:, :, None] - cx2[:, None, :]) ** 2 + (cy1[:, :, None] - cy2[:, None, :]) ** 2)
    return (dist / torch.maximum(d1, d2)[:, None, None] < T).float()


def pixel_propagation(x: torch.Tensor, g: nn.Module, gamma: float) -> torch.Tensor:
    """PPM: y_i = sum_j max(cos(x_i, x_j), 0)^gamma * normalize(g(x_j)), the value transform's output
    L2-normalised over channels as the official `featprop` does. x: [N, C, H, W] -> y: [N, C, H, W]."""
    N, C, H, W = x.shape
    xn = F.normalize(x, dim=1).flatten(2)                                  # [N, C, HW]
    sim = torch.bmm(xn.transpose(1, 2), xn).clamp(min=0).pow(gamma)        # [N, HW_i, HW_j]
    v = F.normalize(g(x), dim=1).flatten(2)                                # [N, C, HW_j], unit values
    return torch.bmm(v, sim.transpose(1, 2)).view(N, C, H, W)              # sum over j


def pixpro_loss(y: torch.Tensor, xk: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """-2 x mean over images of sum(cos(y_i, x'_j) over positive (i, j)) / (#positives + 1e-6).
    y: [N, C, H, W] online (after PPM); xk: [N, C, H, W] momentum target; pos: [N, HW, HW]."""
    yn = F.normalize(y.flatten(2), dim=1)
    kn = F.normalize(xk.flatten(2), dim=1)
    cos = torch.bmm(yn.transpose(1, 2), kn)                                # [N, HW, HW]
    per_image = (cos * pos).sum((1, 2)) / (pos.sum((1, 2)) + 1e-6)         # [N]; 0 without positives
    return -2 * per_image.mean()


def pixcontrast_loss(q: torch.Tensor, k: torch.Tensor, pos: torch.Tensor, tau: float) -> torch.Tensor:
    """InfoNCE over pixels: for each online pixel i with >= 1 positive,
    -log( sum_{j in pos(i)} e^{cos(q_i,k_j)/tau} / sum_j e^{cos(q_i,k_j)/tau} ), averaged over
    those pixels. q, k: [N, C, H, W]; pos: [N, HW, HW]. No positive anywhere gives 0, not NaN."""
    qn, kn = F.normalize(q.flatten(2), dim=1), F.normalize(k.flatten(2), dim=1)
    logits = torch.bmm(qn.transpose(1, 2), kn) / tau                       # [N, HW, HW]
    has_pos = pos.bool()
    log_pos = torch.logsumexp(logits.masked_fill(~has_pos, float("-inf")), dim=-1)
    valid = has_pos.any(-1)                                                # [N, HW]
    if not valid.any():
        return logits.sum() * 0.0
    return (torch.logsumexp(logits, dim=-1) - log_pos)[valid].mean()


# ----------------------------------------------------------------------------- the model
def mlp2d(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    """Projector on a feature map: conv1x1 d_in-hidden, BN, ReLU, conv1x1 hidden-d_out."""
    return nn.Sequential(nn.Conv2d(d_in, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
                         nn.Conv2d(hidden, d_out, 1))


class PixelContrastModel(nn.Module):
    def __init__(self, arch: str, hidden: int, dim: int, T: float, loss: str, gamma: float = 2.0, tau: float = 0.3):
        super().__init__()
        self.T, self.loss, self.gamma, self.tau = T, loss, gamma, tau
        self.encoder = getattr(torchvision.models, arch)(weights=None)
        c5 = self.encoder.fc.in_features
        self.encoder.fc = nn.Identity()  # unused: the C5 map is taken before pooling
        self.projector = mlp2d(c5, hidden, dim)
        self.encoder_k, self.projector_k = copy.deepcopy(self.encoder), copy.deepcopy(self.projector)
        for p in [*self.encoder_k.parameters(), *self.projector_k.parameters()]:
            p.requires_grad = False
        if loss == "pixpro":
            self.value = nn.Conv2d(dim, dim, 1)  # g: one 1x1 conv (the paper's best PPM)

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        ema_update([(self.encoder, self.encoder_k), (self.projector, self.projector_k)], m)

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        x1, x2, c1, c2 = batch                                             # views [N,3,S,S], coords [N,4]
        f1 = self.projector(resnet_c5(self.encoder, x1))                   # [N, dim, H, W]
        f2 = self.projector(resnet_c5(self.encoder, x2))
        with torch.no_grad():
            k1 = self.projector_k(resnet_c5(self.encoder_k, x1))
            k2 = self.projector_k(resnet_c5(self.encoder_k, x2))
        H, W = f1.shape[-2:]
        pos12 = positive_mask(c1.float(), c2.float(), H, W, self.T)        # [N, HW(view1), HW(view2)]
        pos21 = pos12.transpose(1, 2)
        if self.loss == "pixpro":
            y1, y2 = pixel_propagation(f1, self.value, self.gamma), pixel_propagation(f2, self.value, self.gamma)
            loss = pixpro_loss(y1, k2, pos12) + pixpro_loss(y2, k1, pos21)
        else:
            loss = pixcontrast_loss(f1, k2, pos12, self.tau) + pixcontrast_loss(f2, k1, pos21, self.tau)
        return {"loss": loss, "positives_per_image": pos12.sum((1, 2)).mean()}


@dataclass(frozen=True)
class PixelParams:
    hidden: int                          # projector hidden width
    dim: int                             # projection dim
    T: float                             # positive rule: distance < T x the larger bin diagonal
    gamma: float                         # PPM sharpness (PixPro)
    crop: int                            # view side in px
    crop_scale: tuple[float, ...]        # RandomResizedCrop area range
    colour_aug: bool = True
    tau: float = 0.3                     # PixContrast temperature (unused by PixPro)
    blur_sigma: tuple[float, ...] = PAPER_BLUR_SIGMA  # Gaussian blur sigma range, px of the view (paper: 224 px views)


class PixelMethod(Method):
    """PixPro and PixContrast share everything but the loss (`loss`: pixpro or pixcontrast)."""
    Params = PixelParams
    loss = "pixpro"

    def build(self, recipe: Recipe, seed: int) -> nn.Module:
        p = self.params(recipe)
        return PixelContrastModel(recipe.arch, p.hidden, p.dim, p.T, self.loss, p.gamma, p.tau)

    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        p = self.params(recipe)
        crop = CropWithCoords(p.crop, tuple(p.crop_scale))
        return ImageFiles(files, GeometricTwoViews(crop, byol_photometric(1, p.colour_aug, tuple(p.blur_sigma)),
                                                   byol_photometric(2, p.colour_aug, tuple(p.blur_sigma))))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.encoder


class PixPro(PixelMethod):
    loss = "pixpro"
