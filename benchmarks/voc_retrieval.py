"""`voc_retrieval`: semantic segment retrieval (Zhang & Maire 2020, section 5.2, Table 2).

No training. Per image, K-means (K = 15) on the backbone's per-pixel embedding partitions it into
segments; a segment's descriptor is its mean embedding (L2-normalised). Every VOC val segment
retrieves its nearest train_aug segment by cosine similarity (faiss, exact inner-product search)
and takes that segment's majority ground-truth label (ignoring 255); the val prediction gives every
pixel its segment's retrieved label; mean and per-class IoU over val as in the paper's Table 2.

Embedding of a plain ResNet: the res4 map (torchvision `layer3`) at stride 8 (layer3's stride set
to 1, layer4 unused), L2-normalised per cell, upsampled bilinearly to the image. Why this map: the
paper's embedding is a per-pixel hypercolumn from res3/res4 at stride 4; a plain ResNet's layer4
(stride 32) leaves too few cells per image for 15 segments, while res4 is the deepest map whose
resolution still separates objects (and it is the map davis_vos uses, so the two tasks agree). The
map is the protocol's `features` setting; inputs are normalised with the checkpoint's statistics.
K-means runs on the cells of the stride-8 map (faiss.Kmeans, 20 iterations, seeded).
From protocol version 2 (`features.embedding: if_exported`), a checkpoint that exports a pixel
embedding (hiergroup's 32-d hypercolumn at stride 4, harness/embedding.py) is read through it, as
the paper reads its own; the record's `conversion` note says which features ran.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

from harness.api import RunContext, Task, TaskResult
from harness.backbone import embed
from harness.embedding import probe_features
from harness.files import atomic_write_bytes
from harness.data import require_valid

VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")


def segment_image(feat: torch.Tensor, k: int, seed: int, iters: int = 20) -> np.ndarray:
    """K-means of the cells of feat [C, h, w] into k clusters -> assignment [h, w] (ids 0..k-1)."""
    import faiss
    C, h, w = feat.shape
    x = np.ascontiguousarray(feat.reshape(C, -1).T.cpu().numpy(), dtype=np.float32)
    k = min(k, len(x))
    km = faiss.Kmeans(C, k, niter=iters, seed=seed, verbose=False, min_points_per_centroid=1)
    km.train(x)
    _, assign = km.index.search(x, 1)
    return assign.reshape(h, w)


def image_segments(feat: torch.Tensor, label: np.ndarray, k: int, seed: int, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments of one image: (descriptors [S, C] unit, majority labels [S] (-1 if all ignore),
    segment map [H, W] at the label's size with ids 0..S-1)."""
    H, W = label.shape
    cells = segment_image(feat, k, seed)
    seg = F.interpolate(torch.from_numpy(cells)[None, None].float(), (H, W), mode="nearest")[0, 0].long().numpy()
    ids = np.unique(cells)
    remap = np.full(cells.max() + 1, -1)
    remap[ids] = np.arange(len(ids))
    cells, seg = remap[cells], remap[seg]
    f = feat.reshape(feat.shape[0], -1)
    desc = torch.stack([f[:, torch.from_numpy(cells.reshape(-1) == s)].mean(1) for s in range(len(ids))])
    major = np.full(len(ids), -1)
    for s in range(len(ids)):
        lab = label[(seg == s) & (label != 255)]
        if lab.size:
            major[s] = np.bincount(lab, minlength=n_classes).argmax()
    return F.normalize(desc, dim=1).cpu().numpy().astype(np.float32), major, seg


def confusion_iou(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU from a confusion matrix [gt, pred]; NaN for classes absent from both."""
    inter = np.diag(conf).astype(float)
    union = conf.sum(0) + conf.sum(1) - np.diag(conf)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def _tint(image: Image.Image, mask: np.ndarray, size: int = 96) -> Image.Image:
    a = np.asarray(image.convert("RGB"), dtype=np.float32)
    a[~mask] *= 0.3
    a[mask] = 0.6 * a[mask] + 0.4 * np.array([255, 64, 64])
    return Image.fromarray(a.astype(np.uint8)).resize((size, size))


def qualitative_grid(queries: list[tuple[Path, np.ndarray]], neighbours: list[list[tuple[Path, np.ndarray]]],
                     out: Path, size: int = 96) -> None:
    """Rows: a query segment (tinted) then its top-5 retrieved train segments; written as a PNG."""
    cols = 1 + max(len(n) for n in neighbours)
    grid = Image.new("RGB", (cols * (size + 4), len(queries) * (size + 4)), "white")
    for r, ((qp, qm), nbrs) in enumerate(zip(queries, neighbours)):
        for c, (p, m) in enumerate([(qp, qm), *nbrs]):
            with Image.open(p) as im:
                grid.paste(_tint(im, m, size), (c * (size + 4), r * (size + 4)))
    buf = io.BytesIO()
    grid.save(buf, format="PNG")
    atomic_write_bytes(out, buf.getvalue())


class VocRetrieval(Task):
    def _segments(self, net: torch.nn.Module, stage: str | None, root: Path, split: str, k: int,
                  seed: int, device: torch.device, norm: dict[str, Any]) -> list[tuple[Path, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        from harness.data.voc import VOC
        out = []
        for i, (img_path, lab_path) in enumerate(VOC.pairs(root, split, [])):  # checked by require_valid before
            with Image.open(img_path) as im, Image.open(lab_path) as lab:
                label = np.array(lab)
                feat = embed(net, im, norm, stage, device)
            desc, major, seg = image_segments(feat, label, k, seed * 100_003 + i, len(VOC_CLASSES))
            out.append((img_path, desc, major, seg, label))
        return out

    def run(self, ctx: RunContext) -> TaskResult:
        import faiss
        settings, ck, seed = ctx.settings, ctx.checkpoint, ctx.seed  # a RetrievalProtocol
        ds = settings.dataset
        root = ctx.data("voc", ds.synth)
        require_valid("voc", root, ds.database)  # every file decodes, sizes agree, labels in range
        require_valid("voc", root, ds.query)
        device = torch.device(ctx.device)
        net, stage, features_note = probe_features(ck, settings.features)
        net = net.to(device)
        db = self._segments(net, stage, root, ds.database, settings.k, seed, device, ck.normalization)
        queries = self._segments(net, stage, root, ds.query, settings.k, seed + 1, device, ck.normalization)
        db_desc = np.concatenate([d[1] for d in db])
        db_label = np.concatenate([d[2] for d in db])
        db_owner = np.concatenate([[(i, s) for s in range(len(d[1]))] for i, d in enumerate(db)])
        keep = db_label >= 0                                   # segments made only of ignore pixels retrieve nothing
        index = faiss.IndexFlatIP(db_desc.shape[1])
        index.add(db_desc[keep])
        owners, labels_kept = db_owner[keep], db_label[keep]
        n = len(VOC_CLASSES)
        conf = np.zeros((n, n), np.int64)
        examples_q, examples_n = [], []
        for qi, (path, desc, _, seg, label) in enumerate(queries):
            _, nn = index.search(desc, 5)
            pred = labels_kept[nn[:, 0]][seg]                  # each pixel: its segment's retrieved label
            valid = label != 255
            conf += np.bincount(label[valid].astype(np.int64) * n + pred[valid], minlength=n * n).reshape(n, n)
            if len(examples_q) < 4 and qi % max(len(queries) // 4, 1) == 0:
                s = int(np.argmax(np.bincount(seg.reshape(-1))))
                examples_q.append((path, seg == s))
                examples_n.append([(db[owners[j][0]][0], db[owners[j][0]][3] == owners[j][1]) for j in nn[s]])
        iou = confusion_iou(conf)
        metrics = {"mIoU": round(float(np.nanmean(iou)) * 100, 2)}
        metrics.update({f"IoU.{c}": (None if np.isnan(v) else round(float(v) * 100, 2)) for c, v in zip(VOC_CLASSES, iou)})
        qualitative_grid(examples_q, examples_n, ctx.out_dir / "retrieval_grid.png")
        return TaskResult(metrics, yaml.safe_dump(ctx.spec, sort_keys=False),
                          notes={"conversion": features_note,
                                 "segments": {"database": int(keep.sum()), "query": int(sum(len(q[1]) for q in queries))}},
                          artefacts={"grid": "retrieval_grid.png"})
