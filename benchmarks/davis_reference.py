"""A straightforward re-implementation of davis2017-evaluation's semi-supervised J&F code path.

It takes the official evaluator's steps with its data handling (written from its documented
behaviour, not copied): every mask of a sequence read into a float64 array [T, H, W], objects
one-hot encoded by broadcasting against ids [K, T, H, W], J over each object's whole stack, and F
one frame at a time (boundary maps by shifted XOR, cv2.dilate with skimage's disk, precision and
recall by matched boundary pixels). So it runs at about the official evaluator's speed and is the
baseline that `bench perf davis` and the tests compare benchmarks.davis_score against.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from skimage.morphology import disk

from benchmarks.davis_score import statistics
from harness.data.davis import annotation_files, read_indexed, sequences


def _bmap(seg: np.ndarray) -> np.ndarray:
    seg = seg.astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = seg ^ e | seg ^ s | seg ^ se
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def frame_j(gt: np.ndarray, pred: np.ndarray) -> float:
    union = np.sum(gt | pred)
    return 1.0 if union == 0 else float(np.sum(gt & pred) / union)


def frame_f(gt: np.ndarray, pred: np.ndarray) -> float:
    r = math.ceil(0.008 * np.linalg.norm(gt.shape))
    fb, gb = _bmap(pred), _bmap(gt)
    fd = cv2.dilate(fb.astype(np.uint8), disk(r).astype(np.uint8))
    gd = cv2.dilate(gb.astype(np.uint8), disk(r).astype(np.uint8))
    n_fg, n_gt = np.sum(fb), np.sum(gb)
    if n_fg == 0 and n_gt > 0:
        p, rec = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        p, rec = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        p, rec = 1.0, 1.0
    else:
        p, rec = np.sum(fb * gd) / float(n_fg), np.sum(gb * fd) / float(n_gt)
    return 0.0 if p + rec == 0 else 2 * p * rec / (p + rec)


def _read_all(files: list[Path]) -> np.ndarray:
    masks = np.zeros((len(files), *read_indexed(files[0]).shape))
    for i, f in enumerate(files):
        masks[i] = read_indexed(f)
    return masks


def _one_hot(masks: np.ndarray, n: int) -> np.ndarray:
    tmp = np.ones((n, *masks.shape)) * np.arange(1, n + 1)[:, None, None, None]
    return (tmp == masks[None, ...]) > 0


def evaluate(davis_root: str | Path, results: str | Path, split: str = "val") -> dict[str, float]:
    """Global J&F of a results directory, the official evaluator's way."""
    rows = []
    for seq in sequences(davis_root, split):
        files = annotation_files(davis_root, seq)
        gt = _read_all(files)
        gt[gt == 255] = 0
        n = int(np.max(gt[0]))
        gt = _one_hot(gt, n)[:, 1:-1]
        pred = _one_hot(_read_all([Path(results) / seq / f"{f.stem}.png" for f in files[1:-1]]), n)
        for o in range(n):
            g, p = gt[o].astype(bool), pred[o].astype(bool)
            inter, union = np.sum(g & p, axis=(-2, -1)), np.sum(g | p, axis=(-2, -1))
            with np.errstate(divide="ignore", invalid="ignore"):
                js = inter / union
            js[np.isclose(union, 0)] = 1
            fs = np.array([frame_f(g[t], p[t]) for t in range(len(g))])
            rows.append((statistics(js), statistics(fs)))
    jm = [np.mean([r[0][i] for r in rows]) for i in range(3)]
    fm = [np.mean([r[1][i] for r in rows]) for i in range(3)]
    return {"J&F-Mean": float((jm[0] + fm[0]) / 2), "J-Mean": float(jm[0]), "J-Recall": float(jm[1]),
            "J-Decay": float(jm[2]), "F-Mean": float(fm[0]), "F-Recall": float(fm[1]), "F-Decay": float(fm[2])}
