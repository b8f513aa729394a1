"""`cocostuff_unsup`: COCO-Stuff unsupervised semantic segmentation over the 27 mid-level classes,
as PiCIE evaluates it (SlotCon's Table 5).

No training. Every image of the curated lists is resized (shorter side to `res`, bilinear; labels
nearest) and centre-cropped to res x res (PiCIE's EvalCOCO), normalised with the checkpoint's
statistics and passed through the frozen network; its dense features (the protocol's `features`)
are L2-normalised per cell (PiCIE's cosine metric). A mini-batch k-means (K = 27) over the cells of
the fit split's images, in a seeded random order (benchmarks.unsup_seg.picie_kmeans), gives the
clusters; every test image's cells are assigned by the largest centroid dot product, upsampled to
the crop; the test split's [class, cluster] histogram, with labels mapped fine -> 27 classes by the
protocol's table, is Hungarian-matched (benchmarks.unsup_seg.hungarian_metrics): `mIoU`, `pAcc`
and per-class `IoU.<class>`. The clusters are k-means ones for every method (the protocol file says
why SlotCon's own prototypes are not used yet).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import yaml

from harness.api import RunContext, Task, TaskResult
from harness.errors import BenchError


def evaluated_classes(s: Any, where: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(class names, label id -> index table) the run scores: the protocol's `classes` and
    `fine_to_coarse`, restricted to `only` when it names the classes a data set holds. Refuses,
    before any work, a table that cannot be applied."""
    n = len(s.classes)
    bad = [v for v in s.fine_to_coarse if not -1 <= v < n]
    if bad or len(s.fine_to_coarse) > 255:
        raise BenchError(f"{where}: fine_to_coarse: expected at most 255 entries, each -1 or a class index "
                         f"0..{n - 1}" + (f", got {bad[0]}" if bad else f", got {len(s.fine_to_coarse)} entries"))
    if min(s.res, s.kmeans.batch, s.kmeans.init_batches, s.kmeans.update_batches, s.kmeans.niter) < 1:
        raise BenchError(f"{where}: res and kmeans batch, init_batches, update_batches, niter must be >= 1")
    classes, table = tuple(s.classes), tuple(s.fine_to_coarse)
    if s.only is not None:
        unknown = [c for c in s.only if c not in classes]
        if unknown or not s.only:
            raise BenchError(f"{where}: only: {unknown[0] if unknown else 'empty'} (expected names from `classes`)")
        new = {classes.index(c): i for i, c in enumerate(s.only)}
        classes, table = tuple(s.only), tuple(new.get(v, -1) for v in table)
    if s.kmeans.k != len(classes):
        raise BenchError(f"{where}: kmeans.k {s.kmeans.k} differs from the {len(classes)} classes scored "
                         f"(the Hungarian match is one to one)")
    return classes, table


def crop(image: Any, label: Any, res: int) -> tuple[Any, np.ndarray]:
    """PiCIE's EvalCOCO.transform_data: shorter side to res (image bilinear, label nearest), then
    the res x res centre crop (offsets rounded as torchvision's center_crop does)."""
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode
    image = TF.center_crop(TF.resize(image.convert("RGB"), res, InterpolationMode.BILINEAR), [res, res])
    label = TF.center_crop(TF.resize(label, res, InterpolationMode.NEAREST), [res, res])
    return image, np.asarray(label)


def coarse_labels(fine: np.ndarray, table: tuple[int, ...]) -> np.ndarray:
    """Fine label ids (uint8; 255 unlabelled) -> class indices, -1 where ignored or unmapped."""
    lut = np.full(256, -1, np.int64)
    lut[:len(table)] = table
    return lut[fine]


class CocoStuffUnsup(Task):
    def _features(self, net: torch.nn.Module, stage: str | None, pairs: list[tuple[Path, Path]], res: int,
                  norm: dict[str, Any], device: torch.device) -> Iterator[tuple[torch.Tensor, np.ndarray]]:
        """(unit features [C, h, w], fine label [res, res]) per image, in the order of `pairs`."""
        from PIL import Image

        from harness.backbone import embed
        for img_path, lab_path in pairs:
            with Image.open(img_path) as im, Image.open(lab_path) as lab:
                image, label = crop(im, lab, res)
            yield embed(net, image, norm, stage, device), label

    def run(self, ctx: RunContext) -> TaskResult:
        from benchmarks.unsup_seg import histogram, hungarian_metrics, picie_kmeans, predict
        from harness.data import layout, require_valid
        from harness.embedding import probe_features
        s, ck, seed = ctx.settings, ctx.checkpoint, ctx.seed  # an UnsupSegProtocol
        where = f"{ctx.protocol.file} ({ctx.scale})"
        classes, table = evaluated_classes(s, where)
        ds = s.dataset
        root = ctx.data(ds.layout, ds.synth)
        require_valid(ds.layout, root, ds.fit)           # every listed image decodes, labels in range
        require_valid(ds.layout, root, ds.test)
        lay = layout(ds.layout)
        fit_pairs, test_pairs = lay.pairs(root, ds.fit, []), lay.pairs(root, ds.test, [])
        order = np.random.default_rng(seed).permutation(len(fit_pairs))  # PiCIE's shuffled fit loader
        fit_pairs = [fit_pairs[i] for i in order]
        device = torch.device(ctx.device)
        net, stage, features_note = probe_features(ck, s.features)
        net = net.to(device)
        km = s.kmeans
        n_batches = -(-len(fit_pairs) // km.batch)

        def batches() -> Iterator[np.ndarray]:
            """The fit images' cells [N_b * h * w, C], km.batch images at a time."""
            from itertools import islice
            cells = (f.reshape(f.shape[0], -1).T.cpu().numpy()
                     for f, _ in self._features(net, stage, fit_pairs, s.res, ck.normalization, device))
            while chunk := list(islice(cells, km.batch)):
                yield np.concatenate(chunk).astype(np.float32)
        centroids = picie_kmeans(batches(), n_batches, km.k, km.init_batches, km.update_batches, km.niter, seed)
        cent = torch.from_numpy(centroids).to(device)
        n = len(classes)
        hist = np.zeros((n, n), np.int64)
        for feat, fine in self._features(net, stage, test_pairs, s.res, ck.normalization, device):
            hist += histogram(coarse_labels(fine, table), predict(feat, cent, fine.shape), n)
        if hist.sum() == 0:
            raise BenchError(f"{root}: split '{ds.test}' has no labelled pixel of the {n} classes")
        r = hungarian_metrics(hist)
        metrics: dict[str, float | None] = {"mIoU": round(r["mIoU"], 2), "pAcc": round(r["pAcc"], 2)}
        metrics.update({f"IoU.{c}": (None if np.isnan(v) else round(float(v), 2)) for c, v in zip(classes, r["iou"])})
        used = min(n_batches, km.init_batches) + max(0, (n_batches - km.init_batches) // km.update_batches * km.update_batches)
        notes = {"conversion": features_note,
                 "segments": f"k-means (K {km.k}) over the frozen features' cells, for every method (no method's own grouping)",
                 "images": {"fit": len(fit_pairs), "test": len(test_pairs), "fit_batches_used": f"{used} of {n_batches}"},
                 "present_classes": int((hist.sum(1) > 0).sum()),
                 "sampling": f"fit order numpy default_rng({seed}).permutation; faiss Clustering seed {seed}"}
        return TaskResult(metrics, yaml.safe_dump(ctx.spec, sort_keys=False), notes=notes)
