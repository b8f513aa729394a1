"""SlotCon (Wen et al. 2022, "Self-Supervised Visual Representation Learning with Semantic Grouping").

Method: a student (encoder, projector, prototypes) and an EMA teacher of all three. The projector
maps the C5 map to D-dim pixels x; K learnable prototypes s_k group them:
    dots[k, p] = cos(s_k, x_p),   attn = softmax_k(dots / 0.07) + 1e-6,
    slot_k = sum_p x_p attn[k, p] / sum_p attn[k, p]         (unnormalised pixels, per image).
- Group loss (self-distillation of the pixel-to-prototype assignment): both views' score maps are
  resampled onto the two crops' overlap (roi_align, the score map's size, aligned) and un-flipped,
  so cell p of view 1 and of view 2 see the same place; per aligned cell
      CE(softmax((teacher dots - c) / 0.07), log_softmax(student dots / 0.1)),
  student view 1 against teacher view 2 and vice versa; c is an EMA (0.9) of the teacher's mean dots.
- Slot loss (contrast of slots): slot k is valid in a view if prototype k is the argmax of at least
  one pixel there. Queries: student slots valid in both views, through a predictor; keys: every
  valid teacher slot of the other view, gathered from all processes; positive = the same image and
  prototype; CE(cos / 0.2) x (2 x 0.2), both directions.
- loss = 0.5 group + 0.5 slot. Exports the EMA teacher encoder (`module.encoder_k.`).
Facts from CVMI-Lab/SlotCon `models/slotcon.py`, `data/transforms.py`, `scripts/*.sh`.
Like the official code, encoders, projectors and the slot predictor normalise with statistics of
the whole global batch (recipe train.sync_bn: SyncBN on CUDA, harness.engine.syncbn's global batch
norm on CPU processes).
Recipes: recipes/slotcon.yaml.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import Dataset
from torchvision.ops import roi_align

from harness.api import Method
from harness.engine import dist as bdist
from harness.recipe import Recipe
from pretrainers.augment import PAPER_BLUR_SIGMA, OverlappingCrops, byol_photometric
from pretrainers.base import ImageFiles, ema_update, resnet_c5


# ----------------------------------------------------------------------------- the paper's functions
def semantic_grouping(x: torch.Tensor, prototypes: torch.Tensor, temp: float,
                      eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """x: [N, D, H, W] projected pixels; prototypes: [K, D]. Returns slots [N, K, D] and dots [N, K, H, W]."""
    dots = torch.einsum("kd,ndhw->nkhw", F.normalize(prototypes, dim=1), F.normalize(x, dim=1))
    attn = (dots / temp).softmax(dim=1) + eps                                   # over prototypes
    slots = torch.einsum("ndhw,nkhw->nkd", x, attn / attn.sum(dim=(2, 3), keepdim=True))
    return slots, dots


def resample_overlap(score: torch.Tensor, box: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """The crops' overlap cut from a score map and un-flipped. score: [N, K, H, W]; box: [N, 4]
    (x0, y0, x1, y1) normalised in the view's own (possibly flipped) frame; flip: [N] bool.
    Returns [N, K, H, W]: roi_align to the map's own size, aligned=True, then flipped back."""
    N, _, H, W = score.shape
    scale = torch.tensor([W, H, W, H], dtype=score.dtype, device=score.device)
    rois = torch.cat([torch.arange(N, dtype=score.dtype, device=score.device)[:, None], box.to(score) * scale], 1)
    out = roi_align(score, rois, (H, W), spatial_scale=1.0, sampling_ratio=-1, aligned=True)
    return torch.where(flip.view(N, 1, 1, 1), out.flip(-1), out)


def group_loss(student: torch.Tensor, teacher: torch.Tensor, center: torch.Tensor, t_student: float,
               t_teacher: float) -> torch.Tensor:
    """Mean over cells of CE(softmax((teacher - center) / t_teacher), log_softmax(student / t_student)).
    student, teacher: [P, K] dots per aligned cell; center: [1, K]."""
    target = F.softmax((teacher - center) / t_teacher, dim=-1)
    return -(target * F.log_softmax(student / t_student, dim=-1)).sum(-1).mean()


def valid_slots(dots: torch.Tensor) -> torch.Tensor:
    """[N, K, H, W] -> [N, K] bool: prototype k is the argmax of at least one pixel of the image."""
    return F.one_hot(dots.argmax(1), dots.shape[1]).sum((1, 2)) > 0


def slot_contrast_loss(q_pred: torch.Tensor, keys: torch.Tensor, query_index: torch.Tensor,
                       valid_keys: torch.Tensor, tau: float) -> torch.Tensor:
    """InfoNCE of slots, scaled by 2 tau. q_pred: [Q, D] predicted student slots (valid in both
    views); keys: [M, D] teacher slots of every image and prototype of all processes, flattened
    image-major ([world x N x K, D]); query_index: [Q] each query's position in that flattening;
    valid_keys: [M] bool. Logits = cos(query, valid key) / tau; the positive is the same position."""
    if len(q_pred) == 0:
        return q_pred.sum() * 0.0  # no slot valid in both views: nothing to contrast, no NaN
    k = F.normalize(keys[valid_keys], dim=1)                                    # [M_valid, D]
    logits = F.normalize(q_pred, dim=1) @ k.T / tau                             # [Q, M_valid]
    labels = valid_keys.long().cumsum(0)[query_index] - 1                       # rank among valid keys
    return F.cross_entropy(logits, labels) * (2 * tau)


def slot_loss(q: torch.Tensor, k: torch.Tensor, dots_q: torch.Tensor, dots_k: torch.Tensor,
              predictor: nn.Module, tau: float) -> torch.Tensor:
    """Slot contrast of student slots q against the other view's teacher slots k from every process.
    q, k: [N, K, D] slots of this process; dots_q, dots_k: [N, K, H, W] the two views' scores."""
    N, K, _ = q.shape
    vk = valid_slots(dots_k)                                                 # [N, K]
    query_index = (valid_slots(dots_q) & vk).flatten().nonzero().squeeze(-1)
    keys, valid_keys = bdist.all_gather_cat(k.flatten(0, 1)), bdist.all_gather_cat(vk.flatten())
    # With synchronised BN (several processes) every process runs the predictor: its statistics are a
    # collective over all of them. Alone, BN needs 2 samples: a single valid slot pair contributes nothing.
    run = len(query_index) > 1 or bdist.world_size() > 1
    q_pred = predictor(q.flatten(0, 1)[query_index]) if run else q.flatten(0, 1)[:0]
    return slot_contrast_loss(q_pred, keys, query_index + bdist.rank() * N * K, valid_keys, tau)


@torch.no_grad()
def updated_center(center: torch.Tensor, teacher_dots: torch.Tensor, momentum: float) -> torch.Tensor:
    """EMA of the mean teacher dots over all cells of all processes. teacher_dots: [P, K]; center: [1, K]."""
    total = teacher_dots.sum(0, keepdim=True)
    count = torch.tensor([float(len(teacher_dots))], device=total.device)
    if bdist.world_size() > 1:
        dist.all_reduce(total)
        dist.all_reduce(count)
    return center * momentum + total / count * (1 - momentum)


# ----------------------------------------------------------------------------- the model
def dino_head(d_in: int, hidden: int, d_out: int, conv: bool) -> nn.Sequential:
    """3-layer MLP d_in-hidden-hidden-d_out with BN + GELU (1x1 convs on a map, or linear);
    weights trunc-normal(0.02), biases 0, as SlotCon's DINOHead(2d)."""
    lin = (lambda a, b: nn.Conv2d(a, b, 1)) if conv else nn.Linear
    bn = nn.BatchNorm2d if conv else nn.BatchNorm1d
    head = nn.Sequential(lin(d_in, hidden), bn(hidden), nn.GELU(), lin(hidden, hidden), bn(hidden), nn.GELU(),
                         lin(hidden, d_out))
    for m in head:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
    return head


class SlotConModel(nn.Module):
    def __init__(self, arch: str, hidden: int, dim: int, num_prototypes: int, t_teacher: float = 0.07,
                 t_student: float = 0.1, center_momentum: float = 0.9, group_weight: float = 0.5,
                 slot_tau: float = 0.2) -> None:
        super().__init__()
        self.t_teacher, self.t_student, self.center_momentum = t_teacher, t_student, center_momentum
        self.group_weight, self.slot_tau = group_weight, slot_tau
        self.encoder = getattr(torchvision.models, arch)(weights=None)
        c5 = self.encoder.fc.in_features
        self.encoder.fc = nn.Identity()  # unused: the C5 map is taken before pooling
        self.projector = dino_head(c5, hidden, dim, conv=True)
        self.prototypes = nn.Embedding(num_prototypes, dim)
        self.predictor = dino_head(dim, hidden, dim, conv=False)
        self.encoder_k, self.projector_k = copy.deepcopy(self.encoder), copy.deepcopy(self.projector)
        self.prototypes_k = copy.deepcopy(self.prototypes)
        for p in self._teacher_params():
            p.requires_grad = False
        self.register_buffer("center", torch.zeros(1, num_prototypes))

    def _pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [(self.encoder, self.encoder_k), (self.projector, self.projector_k), (self.prototypes, self.prototypes_k)]

    def _teacher_params(self) -> list[nn.Parameter]:
        return [p for _, t in self._pairs() for p in t.parameters()]

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        ema_update(self._pairs(), m)

    def teacher_dots(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher's pixel-to-prototype scores of images x [N, 3, S, S] -> [N, K, S/32, S/32]."""
        return semantic_grouping(self.projector_k(resnet_c5(self.encoder_k, x)), self.prototypes_k.weight,
                                 self.t_teacher)[1]

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        v1, v2, box1, box2, flip1, flip2 = batch                             # views [N,3,S,S], boxes [N,4], flips [N]
        q1, dq1 = semantic_grouping(self.projector(resnet_c5(self.encoder, v1)), self.prototypes.weight, self.t_teacher)
        q2, dq2 = semantic_grouping(self.projector(resnet_c5(self.encoder, v2)), self.prototypes.weight, self.t_teacher)
        with torch.no_grad():
            y1 = self.projector_k(resnet_c5(self.encoder_k, v1))
            y2 = self.projector_k(resnet_c5(self.encoder_k, v2))
            k1, dk1 = semantic_grouping(y1, self.prototypes_k.weight, self.t_teacher)
            k2, dk2 = semantic_grouping(y2, self.prototypes_k.weight, self.t_teacher)
            ak1, ak2 = resample_overlap(dk1, box1, flip1), resample_overlap(dk2, box2, flip2)

        def cells(t: torch.Tensor) -> torch.Tensor:                          # [N, K, H, W] -> [N*H*W, K]
            return t.permute(0, 2, 3, 1).flatten(0, 2)
        aq1, aq2 = resample_overlap(dq1, box1, flip1), resample_overlap(dq2, box2, flip2)
        group = (group_loss(cells(aq1), cells(ak2), self.center, self.t_student, self.t_teacher)
                 + group_loss(cells(aq2), cells(ak1), self.center, self.t_student, self.t_teacher))
        self.center.copy_(updated_center(self.center, cells(torch.cat([dk1, dk2])), self.center_momentum))
        slot = (slot_loss(q1, k2, dq1, dk2, self.predictor, self.slot_tau)
                + slot_loss(q2, k1, dq2, dk1, self.predictor, self.slot_tau))
        w = self.group_weight
        return {"loss": w * group + (1 - w) * slot, "loss_group": group.detach(), "loss_slot": slot.detach(),
                "active_slots": valid_slots(dk1).sum(1).float().mean()}


@dataclass(frozen=True)
class SlotConParams:
    hidden: int                          # projector / predictor hidden width
    dim: int                             # projection dim
    num_prototypes: int
    t_teacher: float
    t_student: float
    center_momentum: float
    group_weight: float                  # loss = w group + (1 - w) slot
    slot_tau: float
    crop: int                            # view side in px
    crop_scale: tuple[float, ...]        # RandomResizedCrop area range
    min_overlap: float                   # the two crops share >= this fraction of the second's area
    colour_aug: bool = True
    blur_sigma: tuple[float, ...] = PAPER_BLUR_SIGMA  # Gaussian blur sigma range, px of the view (paper: 224 px views)


class SlotCon(Method):
    Params = SlotConParams

    def build(self, recipe: Recipe, seed: int) -> nn.Module:
        p = self.params(recipe)
        return SlotConModel(recipe.arch, p.hidden, p.dim, p.num_prototypes, p.t_teacher, p.t_student,
                            p.center_momentum, p.group_weight, p.slot_tau)

    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        p = self.params(recipe)
        return ImageFiles(files, OverlappingCrops(p.crop, byol_photometric(1, p.colour_aug, tuple(p.blur_sigma)),
                                                  byol_photometric(2, p.colour_aug, tuple(p.blur_sigma)),
                                                  tuple(p.crop_scale), min_overlap=p.min_overlap))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.encoder_k

    def heads(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The teacher's projector and prototypes, for `bench inspect slots`."""
        return {**{f"projector.{k}": v for k, v in model.projector_k.state_dict().items()},
                "prototypes": model.prototypes_k.weight.detach()}
