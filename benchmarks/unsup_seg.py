"""Unsupervised semantic segmentation as PiCIE evaluates it (Cho et al., CVPR 2021; janghyuncho/PiCIE):
the pure functions behind `cocostuff_unsup`, each named after the official one it follows.

- `picie_kmeans`: commons.run_mini_batch_kmeans (view -1, the evaluation's "fresh clusters"): the
  first `init_batches` batches' features are clustered by faiss (utils.get_init_centroids: Clustering
  with niter, max_points_per_centroid 1e7, the given seed); every later window of `update_batches`
  batches is assigned to the nearest centroid (L2) and each centroid moves to the window's mean of
  its members with rate n_window / n_seen. A last window shorter than `update_batches` is not used
  (as in the official loop, whose update fires only on a full window).
- `predict`: commons.evaluate: logits = centroids . features (a 1x1 convolution with the centroids
  as weights; features L2-normalised, centroids as k-means left them), bilinearly upsampled to the
  label's size (align_corners False), argmax.
- `histogram` / `hungarian_metrics`: utils.scores / _fast_hist (labels outside 0..n-1 ignored) and
  commons.evaluate's matching (a linear assignment maximising matched pixels over the n x n
  histogram) with utils.get_result_metrics: per-class IoU of each matched pair, mIoU = their nanmean,
  pixel accuracy = matched pixels / labelled pixels, all in percent. The per-class IoU is listed by
  class here; PiCIE's list holds the same values in cluster order (its re-ordered histogram puts
  class t's row at its cluster's index), so its 12-thing / 15-stuff split of that list is not by
  class; DenseBench records no such split.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F


def picie_kmeans(batches: Iterable[np.ndarray], n_batches: int, k: int, init_batches: int, update_batches: int,
                 niter: int, seed: int) -> np.ndarray:
    """Centroids [k, C] (float32) from `n_batches` batches of features, each [N_b, C] float32 (rows
    are feature-map cells, L2-normalised by the caller as PiCIE's cosine metric does)."""
    import faiss
    window: list[np.ndarray] = []
    counts = np.zeros(k)
    seen, first = 0, True
    centroids = index = None
    for feats in batches:
        window.append(np.ascontiguousarray(feats, dtype=np.float32))
        seen += 1
        if seen == init_batches or seen == n_batches:
            x = np.concatenate(window)
            if first:
                index = faiss.IndexFlatL2(x.shape[1])
                clus = faiss.Clustering(x.shape[1], k)
                clus.seed, clus.niter, clus.max_points_per_centroid = int(seed), int(niter), 10_000_000
                clus.train(x, index)
                centroids = faiss.vector_float_to_array(clus.centroids).reshape(k, x.shape[1]).astype(np.float32)
                _, assign = index.search(x, 1)
                for c in np.unique(assign):
                    counts[c] += int((assign == c).sum())
                first = False
            else:
                index.reset()
                index.add(centroids)
                _, assign = index.search(x, 1)
                for c in np.unique(assign):
                    members = np.where(assign[:, 0] == c)[0]
                    counts[c] += len(members)
                    lr = len(members) / (counts[c] + 1e-6)
                    centroids[c] = (1 - lr) * centroids[c] + lr * x[members].mean(0)
            window = []
            seen = init_batches - update_batches  # the next window holds update_batches batches
    if centroids is None:
        raise ValueError("no features to cluster (an empty image list)")
    return centroids


def predict(feats: torch.Tensor, centroids: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Cluster map [H, W] (int64) of one image: feats [C, h, w] (unit per cell), centroids [K, C]."""
    logits = torch.einsum("kc,chw->khw", centroids, feats)[None]          # [1, K, h, w]
    logits = F.interpolate(logits, size, mode="bilinear", align_corners=False)
    return logits[0].argmax(0).cpu().numpy()


def histogram(label: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """[n, n] counts (rows: true class, columns: cluster) of the pixels whose label is in 0..n-1."""
    label, pred = label.reshape(-1).astype(np.int64), pred.reshape(-1).astype(np.int64)
    keep = (label >= 0) & (label < n)
    return np.bincount(n * label[keep] + pred[keep], minlength=n * n).reshape(n, n)


def hungarian_metrics(hist: np.ndarray) -> dict[str, object]:
    """{'mIoU', 'pAcc' (percent), 'iou' [n] per class (percent, NaN where a class and its cluster are
    both empty), 'match' [n] cluster matched to each class} from a [class, cluster] histogram."""
    from scipy.optimize import linear_sum_assignment
    hist = np.asarray(hist, dtype=np.float64)
    rows, cols = linear_sum_assignment(hist.max() - hist)                  # rows come back sorted: 0..n-1
    tp = hist[rows, cols]
    fp = hist[:, cols].sum(0) - tp                                         # pixels of the cluster outside its class
    fn = hist[rows].sum(1) - tp                                            # pixels of the class outside its cluster
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / (tp + fp + fn)
    return {"mIoU": float(np.nanmean(iou) * 100), "pAcc": float(tp.sum() / hist.sum() * 100),
            "iou": iou * 100, "match": cols}
