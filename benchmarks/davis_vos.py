"""`davis_vos`: semi-supervised video object segmentation by label propagation on DAVIS-2017.

No training: the first frame's masks are carried through the video by nearest neighbours in the
backbone's feature space, and the predictions are scored with J&F (benchmarks.davis_score).
Features (protocol `features`): the res4 map (torchvision `layer3`) at stride 8: layer3's stride
set to 1 and layer4 dropped (videowalk's protocol), L2-normalised over channels, the input
normalised with the checkpoint's own statistics. For each frame t:
    context = (first frame if protocol.first_frame) + the previous n_context frames, with labels
    affinity(i, j) = <f_t(i), f_c(j)> / temperature, context cells outside a spatial radius of
        cell i masked out (not for the first frame), top-k kept, softmax over those k,
    labels_t(i) = sum_j softmax_j * labels_c(j)            (soft labels carried forward)
then bilinear upsampling to the annotation size and argmax. The zhang_maire protocol uses the 2
previous frames only and appends each cell's (x, y) position to its feature (Euclidean neighbours);
from its version 2 (`features.embedding: if_exported`) it reads a checkpoint's exported pixel
embedding when there is one (hiergroup's hypercolumn, harness/embedding.py), as the paper did.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

from benchmarks import davis_score
from benchmarks.protocol_schemas import Propagation
from harness.api import RunContext, Task, TaskResult
from harness.backbone import embed
from harness.embedding import probe_features
from harness.data.davis import annotation_files, frames, read_indexed, sequences, write_indexed
from harness.data import require_valid


def propagate_frame(query: torch.Tensor, ctx_feats: list[torch.Tensor], ctx_labels: list[torch.Tensor],
                    restricted: list[bool], topk: int, temperature: float, radius: float,
                    coord_weight: float = 0.0, chunk: int = 1024) -> torch.Tensor:
    """Soft labels of one frame. query: [C, h, w]; ctx_feats[i]: [C, h, w]; ctx_labels[i]: [K, h, w];
    restricted[i]: apply the spatial radius (in cells) to context frame i. Returns [K, h, w].

    coord_weight w > 0 appends each cell's position p in [0, 1]^2 (scaled by w) to its unit feature
    and ranks neighbours by Euclidean distance in that space: -|(f, wp) - (f', wp')|^2 / 2 =
    f.f' - 1 - w^2 |p - p'|^2 / 2, i.e. the cosine affinity minus a position penalty (the constant
    drops out of the softmax)."""
    C, h, w = query.shape
    q = query.reshape(C, -1).T                                                  # [hw, C]
    keys = torch.cat([f.reshape(C, -1) for f in ctx_feats], 1)                  # [C, n*hw]
    labels = torch.cat([l.reshape(l.shape[0], -1) for l in ctx_labels], 1)      # [K, n*hw]
    ys, xs = torch.meshgrid(torch.arange(h, device=q.device), torch.arange(w, device=q.device), indexing="ij")
    pos = torch.stack([ys.reshape(-1), xs.reshape(-1)], 1).float()             # [hw, 2] in cells
    unit = pos / torch.tensor([max(h - 1, 1), max(w - 1, 1)], device=q.device)   # [hw, 2] in [0, 1]
    restrict = torch.cat([torch.full((h * w,), r, dtype=torch.bool, device=q.device) for r in restricted])
    out = []
    for s in range(0, h * w, chunk):
        aff = q[s:s + chunk] @ keys                                             # [c, n*hw]
        if coord_weight:
            d2 = torch.cdist(unit[s:s + chunk], unit).pow(2).repeat(1, len(ctx_feats))
            aff = aff - coord_weight ** 2 * d2 / 2
        aff = aff / temperature
        if radius > 0 and restrict.any():
            d = torch.cdist(pos[s:s + chunk], pos)                              # [c, hw]
            far = (d > radius).repeat(1, len(ctx_feats)) & restrict[None]
            aff = aff.masked_fill(far, float("-inf"))
        val, idx = aff.topk(min(topk, aff.shape[1]), dim=1)                     # [c, k]
        wts = torch.softmax(val, dim=1)
        out.append((labels[:, idx] * wts[None]).sum(-1))                        # [K, c]
    return torch.cat(out, 1).view(-1, h, w)


def propagate_sequence(net: torch.nn.Module, frame_files: list[Path], first: np.ndarray, n_objects: int,
                       p: Propagation, device: torch.device, norm: dict[str, Any],
                       stage: str | None) -> list[np.ndarray]:
    """Predicted label maps (uint8 [H, W]) for every frame; the first is the given annotation."""
    H, W = first.shape
    feats, labels, preds = [], [], [first]
    for t, f in enumerate(frame_files):
        with Image.open(f) as im:
            feat = embed(net, im, norm, stage, device)
        h, w = feat.shape[1:]
        if t == 0:
            onehot = F.one_hot(torch.from_numpy(first.astype(np.int64)).clamp(max=n_objects), n_objects + 1)
            lab = F.interpolate(onehot.permute(2, 0, 1)[None].float(), (h, w), mode="area")[0].to(device)
        else:
            ctx = list(range(max(0, t - p.n_context), t))
            use_first = p.first_frame and 0 not in ctx
            idx = ([0] if use_first else []) + ctx
            restricted = [not (i == 0 and p.first_frame) for i in idx]
            lab = propagate_frame(feat, [feats[i] for i in idx], [labels[i] for i in idx], restricted,
                                  p.topk, p.temperature, p.radius, p.coord_weight)
            up = F.interpolate(lab[None], (H, W), mode="bilinear", align_corners=False)[0]
            preds.append(up.argmax(0).byte().cpu().numpy())
        feats.append(feat)
        labels.append(lab)
    return preds


class DavisVOS(Task):
    def run(self, ctx: RunContext) -> TaskResult:
        settings, ck = ctx.settings, ctx.checkpoint  # a DavisProtocol
        root = ctx.data("davis", settings.dataset.synth)
        device = torch.device(ctx.device)
        torch.manual_seed(ctx.seed)  # propagation is deterministic; the seed is recorded for uniformity
        net, stage, features_note = probe_features(ck, settings.features)
        net = net.to(device)
        pred_dir = ctx.out_dir / "predictions"
        split = settings.dataset.split
        require_valid("davis", root, split)  # every frame decodes, annotation sizes and modes agree
        for seq in sequences(root, split):
            ann = annotation_files(root, seq)
            first = read_indexed(ann[0])
            first = np.where(first == 255, 0, first)
            n = int(first.max())
            files = frames(root, seq)
            preds = propagate_sequence(net, files, first, n, settings.propagation, device, ck.normalization, stage)
            for f, lab in zip(files, preds):
                write_indexed(pred_dir / seq / f"{f.stem}.png", lab)
        glob, rows = davis_score.evaluate(root, pred_dir, split)
        g, s = davis_score.write_csvs(ctx.out_dir, split, glob, rows)
        metrics = {k: round(100 * v, 2) for k, v in glob.items()}  # percent, as papers report
        return TaskResult(metrics, yaml.safe_dump(ctx.spec, sort_keys=False),
                          notes={"conversion": features_note},
                          artefacts={"predictions": "predictions", "global_csv": g.name, "per_sequence_csv": s.name})
