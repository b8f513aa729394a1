"""`toy_rank`: effective rank of a backbone stage's features on a folder of images (example plugin).

For the protocol's `stage`, every spatial cell of every image is one sample of a C-dimensional
feature; erank = exp(entropy of the normalised singular values) of the centred sample matrix
(Roy & Vetterli 2007). Also reports the fraction of channels that are constant (dead), for which
lower is better (the task card says so).
"""
from __future__ import annotations

import numpy as np
import torch
import yaml
from PIL import Image

from harness.api import RunContext, Task, TaskResult
from harness.backbone import build_resnet, forward_to, normalize


def effective_rank(x: torch.Tensor) -> float:
    """x: [samples, C]. exp(-sum p log p) with p the normalised singular values of the centred x."""
    s = torch.linalg.svdvals(x.double() - x.double().mean(0))
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


class ToyRank(Task):
    def run(self, ctx: RunContext) -> TaskResult:
        s, ck = ctx.settings, ctx.checkpoint  # a ToyRankProtocol (toy_rank_schema.py), read strictly
        root = ctx.data(s.dataset.layout, s.dataset.synth)
        files = sorted((root / f"{s.dataset.split}2017").glob("*.jpg"))[:s.images]
        h, w = s.size
        x = torch.stack([torch.from_numpy(np.asarray(Image.open(f).convert("RGB").resize((w, h)), np.float32) / 255)
                         .permute(2, 0, 1) for f in files])
        net = build_resnet(ck.arch, ck.state).train()  # batch statistics, as a fine-tune would see them
        with torch.no_grad():
            feats = forward_to(net, normalize(x, ck.normalization), s.stage)
        cells = feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1])
        metrics = {"erank": round(effective_rank(cells), 3),
                   "dead_fraction": round(float((cells.std(0) == 0).float().mean()), 4)}
        # an artefact: each channel's standard deviation (a task writes only under ctx.out_dir)
        np.savetxt(ctx.out_dir / "channel_std.csv", cells.std(0).numpy(), fmt="%.6f")
        return TaskResult(metrics, yaml.safe_dump(ctx.spec), notes={"images": len(files)},
                          artefacts={"channel_std": "channel_std.csv"})
