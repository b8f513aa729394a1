"""`bench inspect rank`: effective rank of a backbone's features, stage by stage, beside random init.

A short self-supervised pre-training can collapse its features onto a few directions (dimensional
collapse, Jing et al. ICLR 2022): the checkpoint then transfers worse than random initialisation,
whose features are nearly white. This diagnostic makes that visible in seconds, before any transfer
run. For each ResNet stage (layer1..layer4 = C2..C5) every spatial cell of every image is one sample
of a C-dimensional feature; the effective rank (Roy & Vetterli 2007, as RankMe, Garrido et al. 2023,
uses it) of the centred [N*H*W, C] matrix with singular values s_k is

    p_k = s_k / sum_j s_j,   erank = exp(-sum_k p_k log p_k)      (1 <= erank <= C)

BN runs on the batch's statistics, as in the fine-tuning protocols (their BN is in training mode),
so a checkpoint's stored running statistics do not enter. Each checkpoint's input normalisation is
its own (metadata); the reference is torchvision's default initialisation (the `random` method)
under the same torch seed, fed like the first checkpoint.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from harness.backbone import STAGES, build_resnet, normalize, stage_outputs
from harness.checkpoint import load_canonical
from harness.errors import BenchError


def effective_rank(features: torch.Tensor) -> float:
    """Effective rank of features [N, C] (rows are samples) after centring each column."""
    z = features.double() - features.double().mean(0, keepdim=True)
    s = torch.linalg.svdvals(z)
    if float(s.sum()) == 0.0:
        return 0.0  # constant features: no direction at all
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def load_images(paths: list[Path], size: tuple[int, int]) -> torch.Tensor:
    """RGB images resized to size=(h, w), on the 0-1 scale: [N, 3, h, w]."""
    out = []
    for p in paths:
        try:
            with Image.open(p) as im:
                a = np.asarray(im.convert("RGB").resize((size[1], size[0]), Image.BILINEAR), np.float32) / 255.0
        except OSError as e:
            raise BenchError(f"{p}: not a readable image ({e})") from e
        out.append(torch.from_numpy(a).permute(2, 0, 1))
    return torch.stack(out)


@torch.no_grad()
def stage_ranks(model: torch.nn.Module, x: torch.Tensor) -> list[float]:
    """Effective rank of each stage's output (layer1..layer4) for images x [N, 3, H, W]."""
    model.train()  # batch statistics in BN (see module docstring); nothing is saved afterwards
    return [effective_rank(h.permute(0, 2, 3, 1).reshape(-1, h.shape[1])) for h in stage_outputs(model, x)]


def rank_table(checkpoints: list[Path], images: list[Path], size: tuple[int, int] = (96, 128),
               seed: int = 0) -> list[tuple[str, list[float]]]:
    """(name, [erank per stage]) for `random` (the checkpoints' arch) then each checkpoint."""
    if not images:
        raise BenchError("inspect rank: no images given (expected --images DIR with .jpg/.png files)")
    x = load_images(images, size)
    loaded = [load_canonical(c) for c in checkpoints]
    archs = {meta["arch"] for _, meta in loaded}
    if len(archs) != 1:
        raise BenchError(f"inspect rank: checkpoints of different architectures {sorted(archs)}; compare one at a time")
    torch.manual_seed(seed)
    rows = [("random", stage_ranks(build_resnet(archs.pop()), normalize(x, loaded[0][1]["normalization"])))]
    for c, (state, meta) in zip(checkpoints, loaded):
        rows.append((f"{meta.get('method', '?')} ({c.parent.name})",
                     stage_ranks(build_resnet(meta["arch"], state), normalize(x, meta["normalization"]))))
    return rows


def image_list(folder: Path, limit: int) -> list[Path]:
    """The first `limit` images (sorted) of a folder; error naming the folder if there are none."""
    if limit < 1:
        raise BenchError(f"inspect rank: --n {limit}: expected at least 1 image")
    if not folder.is_dir():
        raise BenchError(f"{folder}: not a directory (expected a folder of .jpg/.png images)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:limit]
    if not files:
        raise BenchError(f"{folder}: no .jpg/.png images found")
    return files
