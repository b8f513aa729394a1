"""ORL (Xie et al., NeurIPS 2021, "Unsupervised Object-Level Representation Learning from Scene Images").

Stage 1 is BYOL on the scene images (the `byol` method; the recipe's `after: {stage1: byol/...}`
reuses its cached checkpoint). Stage 2 (pretrainers/orl_stage2.py) finds, for every image, its
nearest images and the RoI pairs across them that the stage-1 network sees as alike. Stage 3
trains a new network from scratch with BYOL's objective on three kinds of pairs:

    global:    two augmented views v1, v2 of the image;
    intra-RoI: a random proposal b of the image and a jittered copy b' (orl_boxes.jitter_box);
    inter-RoI: one retrieved pair (b in the image, b* in one random of its neighbours);

RoI patches are resized to `patch` px with flip and colour augmentation (no crop). Every branch
shares the online backbone f and projector g and has its own predictor q_branch; the target
network (f', g') is an EMA of (f, g), m: 0.99 -> 1 cosine. With p = q(g(f(x))), z = g'(f'(x')):

    L_branch = [2 - 2 cos(p(x1), z(x2))] + [2 - 2 cos(p(x2), z(x1))]       (batch means)
    L = L_global + L_intra + L_inter                                        (weights 1)

Facts from Jiahao000/ORL `models/orl.py`, `datasets/orl.py`, `configs/selfsup/orl/coco/stage3`;
OpenSelfSup's head writes each term as -2 cos (a constant away, the same gradient). Exports the
online backbone.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torchvision
from PIL import Image
from torch import nn
from torch.utils.data import Dataset
from torchvision.transforms import functional as TF

from harness.api import Method, StageContext
from harness.errors import BenchError
from harness.recipe import Recipe
from pretrainers.augment import byol_photometric, byol_view
from pretrainers.base import ema_update
from pretrainers.byol import byol_loss, mlp
from pretrainers.orl_boxes import jitter_box
from pretrainers.orl_stage2 import Stage2Settings, discover, load_correspondence

BRANCHES = ("global", "intra", "inter")


# ----------------------------------------------------------------------------- the paper's function
def orl_loss(p: dict[str, tuple[torch.Tensor, torch.Tensor]], z: dict[str, tuple[torch.Tensor, torch.Tensor]],
             weights: dict[str, float] | None = None) -> dict[str, torch.Tensor]:
    """ORL's objective. p[branch] = (p1, p2) online predictions [N, D] of the pair's two inputs,
    z[branch] = (z1, z2) target projections [N, D]. Returns {'loss': sum, 'loss_<branch>': each}."""
    out = {}
    for b in p:
        (p1, p2), (z1, z2) = p[b], z[b]
        out[f"loss_{b}"] = (weights or {}).get(b, 1.0) * (byol_loss(p1, z2) + byol_loss(p2, z1))
    out["loss"] = sum(out.values())
    return out


# ----------------------------------------------------------------------------- the model
class ORL(nn.Module):
    def __init__(self, arch: str, hidden: int, dim: int) -> None:
        super().__init__()
        self.backbone = getattr(torchvision.models, arch)(weights=None)
        c5 = self.backbone.fc.in_features
        self.backbone.fc = nn.Identity()                              # f(x): [N, C5] after average pooling
        self.projector = mlp(c5, hidden, dim)
        self.predictors = nn.ModuleDict({b: mlp(dim, hidden, dim) for b in BRANCHES})
        self.backbone_t, self.projector_t = copy.deepcopy(self.backbone), copy.deepcopy(self.projector)
        for q in [*self.backbone_t.parameters(), *self.projector_t.parameters()]:
            q.requires_grad = False

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        ema_update([(self.backbone, self.backbone_t), (self.projector, self.projector_t)], m)

    def forward(self, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        x = dict(zip(BRANCHES, (batch[0:2], batch[2:4], batch[4:6])))  # each: two [N, 3, S, S]
        # one forward per input, as the official model: each has its own BN batch statistics
        p = {b: tuple(self.predictors[b](self.projector(self.backbone(v))) for v in x[b]) for b in BRANCHES}
        with torch.no_grad():
            z = {b: tuple(self.projector_t(self.backbone_t(v)) for v in x[b]) for b in BRANCHES}
        return orl_loss(p, z)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the data
class ORLData(Dataset):
    """Stage-3 samples: (view1, view2, intra1, intra2, inter1, inter2), tensors [3, S, S] / [3, P, P]."""

    def __init__(self, files: list[Path], corr: dict[str, Any], p: ORLParams) -> None:
        by_name = {f.name: f for f in files}
        missing = [n for n in corr["images"] if n not in by_name]
        if missing or len(corr["images"]) != len(files):
            raise BenchError(f"the ORL correspondence lists {len(corr['images'])} images, the pre-training set "
                             f"has {len(files)} ({len(missing)} of its names missing, e.g. {missing[:1]})")
        self.files = [by_name[n] for n in corr["images"]]
        self.knn, self.boxes, self.pairs, self.p = corr["knn"], corr["boxes"], corr["pairs"], p
        self.view = [byol_view(p.crop, v, colour=p.colour_aug, blur_sigma=tuple(p.blur_sigma)) for v in (1, 2)]
        self.patch = [byol_photometric(v, colour=p.colour_aug, blur_sigma=tuple(p.patch_blur_sigma)) for v in (1, 2)]

    def __len__(self) -> int:
        return len(self.files)

    def _patch(self, im: Image.Image, box: list[int], view: int) -> torch.Tensor:
        x, y, w, h = box
        crop = TF.resized_crop(im, y, x, h, w, [self.p.patch, self.p.patch])
        if random.random() < 0.5:
            crop = TF.hflip(crop)
        return self.patch[view](crop)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        p = self.p
        k = random.randrange(len(self.knn[i]))                       # one of the image's neighbours
        with Image.open(self.files[i]) as a, Image.open(self.files[self.knn[i][k]]) as b:
            im, nb = a.convert("RGB"), b.convert("RGB")
        ibox1 = random.choice(self.boxes[i])
        ibox2 = jitter_box(ibox1, im.width, im.height, tuple(p.jitter_shift), tuple(p.jitter_scale),
                           tuple(p.jitter_ratio), p.jitter_iou, p.jitter_tries)
        pair = random.choice(self.pairs[i][k])
        return (self.view[0](im), self.view[1](im), self._patch(im, ibox1, 0), self._patch(im, ibox2, 1),
                self._patch(im, pair[:4], 0), self._patch(nb, pair[4:], 1))


# ----------------------------------------------------------------------------- the method
@dataclass(frozen=True)
class ORLParams:
    """Every value is written in the recipe (no hidden defaults): recipes/orl.yaml names each source."""
    hidden: int                  # projector / predictor hidden width
    dim: int                     # projection dim
    crop: int                    # global view side in px
    patch: int                   # RoI patch side in px
    colour_aug: bool             # colour jitter + greyscale (views and patches)
    blur_sigma: tuple[float, float]        # Gaussian blur sigma range of the global views, px
    patch_blur_sigma: tuple[float, float]  # ... of the RoI patches, px
    jitter_shift: tuple[float, float]   # intra-RoI jitter: centre shift, x (w, h)
    jitter_scale: tuple[float, float]   # area factor
    jitter_ratio: tuple[float, float]   # aspect ratio, log-uniform
    jitter_iou: float            # accepted jittered box: IoU > this with the original
    jitter_tries: int            # then the original box itself
    # stage 2 (orl_stage2.Stage2Settings)
    knn: int
    knn_resize: int
    knn_crop: int
    min_box: float
    max_ratio: float
    max_iou: float
    top_n: int
    roi_size: int
    pair_ratio: float

    def stage2(self) -> Stage2Settings:
        return Stage2Settings(**{f.name: getattr(self, f.name) for f in fields(Stage2Settings)})


class ORLMethod(Method):
    Params = ORLParams

    def __init__(self) -> None:
        self.correspondence: dict[str, Any] | None = None

    def prepare(self, recipe: Recipe, ctx: StageContext) -> dict[str, Any]:
        """Stage 2 from the stage-1 checkpoint; the correspondence file is kept beside the checkpoint."""
        from harness.files import atomic_write_bytes
        if "stage1" not in ctx.stages:
            raise BenchError(f"{recipe.file}: recipes.{recipe.name}.after.stage1: missing (ORL needs its BYOL stage)")
        path = discover(ctx.stages["stage1"], ctx.files, self.params(recipe).stage2(), ctx.progress, ctx.workers)
        atomic_write_bytes(ctx.entry_dir / "correspondence.json", path.read_bytes())  # every rank: same bytes
        self.correspondence = load_correspondence(path)
        return {"stage2": {"correspondence": "correspondence.json", **self.correspondence["info"]["counts"]}}

    def build(self, recipe: Recipe, seed: int) -> nn.Module:
        p = self.params(recipe)
        return ORL(recipe.arch, p.hidden, p.dim)

    def dataset(self, recipe: Recipe, files: list[Path]) -> Dataset:
        if self.correspondence is None:
            raise BenchError("ORL's stage-3 data needs stage 2 first (Method.prepare, run by harness.runs.pretrain)")
        return ORLData(files, self.correspondence, self.params(recipe))

    def backbone(self, model: nn.Module) -> nn.Module:
        return model.backbone
