"""Hierarchical grouping (Zhang & Maire, NeurIPS 2020, "Self-Supervised Visual Representation
Learning from Hierarchical Grouping"): pixel contrast whose positives and negatives come from a
contour-derived region hierarchy (pretrainers/hiergroup_sampling.py).

A network phi maps an image I to per-pixel embeddings F = phi(I) (d = 32). With
sim(F(i), F(j)) = F(i)^T F(j) / (|F(i)| |F(j)|), the objective is equation (1):

    phi* = argmax_phi  sum_i sum_{m in Pos(i)}  exp(sim(F(i), F(m)))
                                                / (exp(sim(F(i), F(m))) + sum_{n in Neg(i)} exp(sim(F(i), F(n))))

with Pos(i) = Pos+(i) (sampled positives and their counterparts in the augmented view) and
Neg(i) = Neg+(i) (sampled negatives, their augmented counterparts, cross-image negatives).
As printed, the summand is the probability itself (no log, no temperature); DenseBench minimises its
negative mean over the (anchor, positive) pairs: the mean instead of the sum only rescales the
gradient, which Adam's update does not see.

Network (sec. 4.2): a ResNet from random init whose res3 and res4 outputs each pass one 3x3
Conv-BN-ReLU to 256 channels, are interpolated to 1/4 of the input resolution and concatenated,
then one 3x3 convolution gives the 32-channel embedding.
No official code exists: this module is the reference implementation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import Dataset

from harness.api import Method, StageContext
from harness.embedding import Hypercolumn
from harness.errors import BenchError
from harness.recipe import Recipe


# ----------------------------------------------------------------------------- the paper's function
def hiergroup_loss(f_anchor: torch.Tensor, f_pos: torch.Tensor, f_neg: torch.Tensor,
                   pos_mask: torch.Tensor | None = None, neg_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Negative mean of equation (1)'s summands.
    f_anchor: [A, D] anchor embeddings F(i); f_pos: [A, P, D] F(m), m in Pos+(i); f_neg: [A, N, D]
    F(n), n in Neg+(i). pos_mask [A, P] / neg_mask [A, N] (bool): which entries exist (an augmented
    counterpart outside the other view does not). Similarities are cosine."""
    a = F.normalize(f_anchor, dim=-1)[:, None, :]                       # [A, 1, D]
    s_pos = (a * F.normalize(f_pos, dim=-1)).sum(-1)                     # [A, P]
    s_neg = (a * F.normalize(f_neg, dim=-1)).sum(-1)                     # [A, N]
    e_neg = torch.exp(s_neg) if neg_mask is None else torch.exp(s_neg) * neg_mask
    ratio = torch.exp(s_pos) / (torch.exp(s_pos) + e_neg.sum(dim=1, keepdim=True))  # [A, P], each in (0, 1]
    if pos_mask is None:
        return -ratio.mean()
    return -(ratio * pos_mask).sum() / pos_mask.sum().clamp(min=1)


# ----------------------------------------------------------------------------- the model
class HierGroupModel(nn.Module):
    """forward(batch of HierGroupData items) -> {'loss': eq. (1) over Pos+ and Neg+ (with cns)}."""

    def __init__(self, arch: str, width: int, dim: int) -> None:
        super().__init__()
        self.net = Hypercolumn(getattr(torchvision.models, arch)(weights=None), width, dim)

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        v1, v2, anc, pos, neg, pos2, pos2_ok, neg2, neg2_ok, cns_off, cns_pix = batch
        f1 = self.net(v1).flatten(2).transpose(1, 2)                     # [B, G*G, D]
        f2 = self.net(v2).flatten(2).transpose(1, 2)
        b, a = anc.shape
        rows = torch.arange(b, device=anc.device)[:, None, None]
        other = (rows + 1 + cns_off % max(b - 1, 1)) % b                 # hiergroup_sampling.other_image
        f_anchor = f1[rows[:, :, 0], anc]                                 # [B, A, D]
        f_pos = torch.cat([f1[rows, pos], f2[rows, pos2]], dim=2)         # [B, A, 2P, D]
        f_neg = torch.cat([f1[rows, neg], f2[rows, neg2], f1[other, cns_pix]], dim=2)
        ones_p, ones_n = torch.ones_like(pos, dtype=torch.bool), torch.ones_like(neg, dtype=torch.bool)
        pos_mask = torch.cat([ones_p, pos2_ok.bool()], dim=2)
        neg_mask = torch.cat([ones_n, neg2_ok.bool(), torch.full_like(cns_pix, b > 1, dtype=torch.bool)], dim=2)
        d = f_anchor.shape[-1]
        loss = hiergroup_loss(f_anchor.reshape(b * a, d), f_pos.reshape(b * a, -1, d), f_neg.reshape(b * a, -1, d),
                              pos_mask.reshape(b * a, -1), neg_mask.reshape(b * a, -1))
        return {"loss": loss, "aug_pos_valid": pos2_ok.float().mean()}


@dataclass(frozen=True)
class HierGroupParams:
    """Every value written in the recipe (recipes/hiergroup.yaml names each source)."""
    crop: int                         # view side in px (224)
    crop_scale: tuple[float, float]   # RandomResizedCrop area range (not stated: torchvision's default)
    colour_aug: bool                  # colour jitter (0.4, 0.4, 0.4, 0.1) p 0.8 (strengths not stated)
    width: int                        # hypercolumn projection channels (256)
    dim: int                          # embedding channels (32)
    n_regions: int                    # anchor regions per image (7)
    n_pos: int                        # positives per anchor (10)
    n_neg: int                        # negatives per anchor (5)
    cns: int                          # cross-image negatives per anchor (5; the paper's other setting 20; 0 allowed)
    sigma_p: float                    # eq. 2/3 temperature (0.8)
    edges: str                        # structured (the paper's, needs the model file) | gradient (fallback)
    max_regions: int                  # finest-level regions (40)


class HierGroup(Method):
    Params = HierGroupParams
    embedding = "hypercolumn"  # exported with the backbone; voc_retrieval / davis_vos can run it
    MODEL_PLACE = "models/structured_edges/model.yml.gz"  # under the data root

    def __init__(self) -> None:
        self.groupings: list[Any] | None = None

    def prepare(self, recipe: Recipe, ctx: StageContext) -> dict[str, Any]:
        """The grouping primitive of every pre-training image (cached per image content)."""
        import os

        from pretrainers.hiergroup_ucm import EdgeSettings, group_images
        p = self.params(recipe)
        model = None
        if p.edges == "structured":
            base = ctx.data_root or os.environ.get("DENSEBENCH_DATA")
            model = Path(base) / self.MODEL_PLACE if base else None
            if model is None or not model.is_file():
                raise BenchError(
                    f"recipe '{recipe.name}' of hiergroup uses structured edges (the paper's), whose BSDS500 model "
                    f"file is missing: expected {model or '<data root>/' + self.MODEL_PLACE} (opencv_extra "
                    f"testdata/cv/ximgproc/model.yml.gz). Put it there, or run --recipe {recipe.name}_gradient_edges "
                    f"(DenseBench's classical edges instead, a named deviation)")
        settings = EdgeSettings(p.edges, str(model) if model else None, p.max_regions)
        self.groupings = group_images(ctx.files, settings, ctx.progress, ctx.workers)
        sizes = [int(r.max()) + 1 for r, _ in self.groupings]
        return {"grouping": {"edges": p.edges, "model_file": str(model) if model else None,
                             "mean_regions": round(sum(sizes) / max(len(sizes), 1), 2)}}

    def build(self, recipe: Recipe, seed: int) -> nn.Module:
        p = self.params(recipe)
        return HierGroupModel(recipe.arch, p.width, p.dim)

    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        from pretrainers.hiergroup_data import HierGroupData
        if self.groupings is None:
            raise BenchError("hiergroup's data needs its grouping first (Method.prepare, run by harness.runs.pretrain)")
        return HierGroupData(files, self.groupings, self.params(recipe))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.net.backbone

    def heads(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The hypercolumn head (res3/res4 projections and the embedding conv): harness.embedding's
        'hypercolumn', which the probes run on top of the exported backbone."""
        return {k: v.detach().cpu() for k, v in model.net.state_dict().items() if not k.startswith("backbone.")}
