"""DAVIS-2017 semi-supervised J&F, with the numbers of davisvideochallenge/davis2017-evaluation, faster.

Definitions (the official `davis2017/metrics.py`, `utils.db_statistics`, `evaluation.py`):
- Objects of a sequence: ids 1..K with K the largest id of the first ground-truth frame; void
  (255) is set to background in the ground truth. The first and last frames are not scored.
- J = |pred & gt| / |pred | gt| per object and frame; 1 when the union is empty.
- F: 1-px boundary maps (a pixel differs from its east, south or south-east neighbour; the last
  row/column compare with one neighbour), each dilated by a disk of radius ceil(0.008 x image
  diagonal); precision = matched prediction boundary / prediction boundary, recall likewise;
  F = 2PR/(P+R) (0 if P+R = 0); both boundaries empty -> 1, exactly one empty -> 0.
- Per object: Mean = nanmean over frames; Recall = mean(value > 0.5); Decay = mean of the first
  minus mean of the last of 4 overlapping quartile bins (ids = round(linspace(1, N, 5) + 1e-10) - 1).
- J&F-Mean = (mean over objects of J-Mean + mean over objects of F-Mean) / 2.
Why it is faster with identical numbers: the same operations (the official disk dilation
included) run only on the box around each object's prediction and ground truth instead of the
whole frame, masks are compared as uint8 label maps instead of float64 one-hot stacks, and
sequences are scored in parallel processes. Deviation, named: a prediction
that omits an object's id is scored as an empty mask (the official script exits instead).
"""
from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from harness.config import atomic_write_text
from harness.data.davis import annotation_files, read_indexed, sequences
from harness.errors import BenchError


def boundaries(seg: np.ndarray) -> np.ndarray:
    """1-px boundary maps of boolean masks [..., H, W], as the official _seg2bmap: a pixel differs
    from its east, south or south-east neighbour; the last row compares with its east neighbour
    only, the last column with its south one, the bottom-right corner is never a boundary."""
    seg = seg.astype(bool, copy=False)
    b = np.zeros_like(seg)
    np.not_equal(seg[..., :, :-1], seg[..., :, 1:], out=b[..., :, :-1])        # east, every row
    b[..., :-1, :] |= seg[..., :-1, :] != seg[..., 1:, :]                       # south, every column
    b[..., :-1, :-1] |= seg[..., :-1, :-1] != seg[..., 1:, 1:]                  # south-east
    return b


@functools.lru_cache(maxsize=8)
def disk(radius: int) -> np.ndarray:
    """The official structuring element, skimage.morphology.disk(r): uint8 [2r+1, 2r+1], 1 where x^2 + y^2 <= r^2.
    Built once per radius (f_measure runs per object and frame); read-only, as it is shared."""
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    se = (x * x + y * y <= radius * radius).astype(np.uint8)
    se.flags.writeable = False
    return se


def f_measure(pred_b: np.ndarray, gt_b: np.ndarray, radius: int) -> float:
    """Boundary F of one frame from boundary maps pred_b, gt_b (bool [H, W], or crops holding both)."""
    n_fg, n_gt = int(pred_b.sum()), int(gt_b.sum())
    if n_fg == 0 and n_gt == 0:
        return 1.0
    if n_fg == 0 or n_gt == 0:
        return 0.0  # precision or recall is 0, the other 1
    # the official step (cv2.dilate by the disk), on the crop: dilation outside it cannot reach a
    # boundary pixel of the other map, which all lie inside
    se = disk(radius)
    p8, g8 = (np.ascontiguousarray(b, dtype=bool).view(np.uint8) for b in (pred_b, gt_b))
    precision = cv2.countNonZero(cv2.bitwise_and(cv2.dilate(g8, se), p8)) / n_fg
    recall = cv2.countNonZero(cv2.bitwise_and(cv2.dilate(p8, se), g8)) / n_gt
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _crop_scores(g: np.ndarray, p: np.ndarray, radius: int) -> tuple[float, float]:
    """(J, F) of one object in one frame from bool crops that hold every pixel of both masks plus
    one pixel of margin on each side (so boundary maps inside the crop equal the full frame's)."""
    union = int(np.count_nonzero(g | p))
    if union == 0:
        return 1.0, 1.0
    return int(np.count_nonzero(g & p)) / union, f_measure(boundaries(p), boundaries(g), radius)


def _box(m1: np.ndarray, m2: np.ndarray) -> tuple[slice, slice] | None:
    """Bounding box of the union of two uint8 masks, grown by one pixel each side, clipped to the frame."""
    h, w = m1.shape
    boxes = [r for r in (cv2.boundingRect(m1), cv2.boundingRect(m2)) if r[2] > 0]
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return slice(max(y0 - 1, 0), min(y1 + 1, h)), slice(max(x0 - 1, 0), min(x1 + 1, w))


def frame_scores(gt: np.ndarray, pred: np.ndarray, n: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """J and F [n] of objects 1..n in one frame from label maps gt, pred (uint8 [H, W]; gt may hold
    void, 255, which equals no object id). Each object is compared within the box around every
    labelled pixel of both maps, and scored within its own box: work is proportional to the boxes."""
    J, F = np.ones(n), np.ones(n)
    region = _box(gt, pred)          # nothing labelled in either map: every object scores 1, 1
    if region is None:
        return J, F
    # an object's box in the region equals its box in the frame: the region has a pixel of margin
    # on each side except where the frame ends, where the object's box is clipped alike
    gt, pred = gt[region], pred[region]
    for o in range(n):
        g, p = cv2.compare(gt, o + 1, cv2.CMP_EQ), cv2.compare(pred, o + 1, cv2.CMP_EQ)   # 255 where equal
        box = _box(g, p)
        if box is not None:
            J[o], F[o] = _crop_scores(g[box] > 0, p[box] > 0, radius)
    return J, F


def j_and_f(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per object and frame J and F of boolean masks gt, pred [O, T, H, W] -> two float arrays [O, T]."""
    O, T, h, w = gt.shape
    radius = math.ceil(0.008 * math.hypot(h, w))
    J, F = np.ones((O, T)), np.ones((O, T))
    for o in range(O):
        for t in range(T):
            lab_g, lab_p = gt[o, t].astype(np.uint8), pred[o, t].astype(np.uint8)
            j, f = frame_scores(lab_g, lab_p, 1, radius)
            J[o, t], F[o, t] = j[0], f[0]
    return J, F


def statistics(per_frame: np.ndarray) -> tuple[float, float, float]:
    """(Mean, Recall, Decay) of one object's per-frame values, as the official db_statistics."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        M = float(np.nanmean(per_frame))
        R = float(np.nanmean(per_frame > 0.5))
        ids = (np.round(np.linspace(1, len(per_frame), 5) + 1e-10) - 1).astype(np.uint8)  # uint8 as the official
        bins = [per_frame[ids[i]:ids[i + 1] + 1] for i in range(4)]
        D = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
    return M, R, D


def _read_as(f: Path, shape: tuple[int, ...], what: str) -> np.ndarray:
    """One label map (a read-only view where possible: the caller copies it) of the given size."""
    a = read_indexed(f, writeable=False)
    if a.shape != shape:
        raise BenchError(f"{f}: size {a.shape[1]}x{a.shape[0]} differs from {what} ({shape[1]}x{shape[0]})")
    return a


def _load(davis_root: Path, results: Path, seq: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Label maps of the scored frames (uint8 [T, H, W]; void, 255, kept in gt: no object id equals
    it) and the object count (the largest id of the first annotation, void set to background)."""
    files = annotation_files(davis_root, seq)
    first = read_indexed(files[0])
    shape, T = first.shape, max(len(files) - 2, 0)
    ids = np.flatnonzero(np.bincount(first.ravel(), minlength=256)[:255])
    n = int(ids[-1]) if len(ids) else 0
    gt, pred = np.empty((T, *shape), np.uint8), np.empty((T, *shape), np.uint8)
    for i, f in enumerate(files[1:]):
        a = _read_as(f, shape, "the sequence's first annotation")
        if i < T:                                                         # the last frame is not scored
            gt[i] = a
    for i, f in enumerate(files[1:-1]):
        p = results / seq / f"{f.stem}.png"
        if not p.is_file():
            raise BenchError(f"{p}: missing prediction (expected an indexed PNG per annotated frame)")
        pred[i] = _read_as(p, shape, "its annotation")
    top = int(pred.max()) if pred.size else 0
    if top > n:
        raise BenchError(f"{results / seq}: prediction uses object id {top} but the first annotation has {n} objects")
    return gt, pred, n


def score_sequence(args: tuple[Path, Path, str]) -> list[dict[str, Any]]:
    """Per-object statistics of one sequence (runs in a worker process)."""
    davis_root, results, seq = args
    gt, pred, n = _load(davis_root, results, seq)
    radius = math.ceil(0.008 * math.hypot(*gt.shape[1:]))
    J, F = np.ones((n, len(gt))), np.ones((n, len(gt)))
    for t in range(len(gt)):
        J[:, t], F[:, t] = frame_scores(gt[t], pred[t], n, radius)
    out = []
    for o in range(n):
        jm, jr, jd = statistics(J[o])
        fm, fr, fd = statistics(F[o])
        out.append({"Sequence": f"{seq}_{o + 1}", "J-Mean": jm, "J-Recall": jr, "J-Decay": jd,
                    "F-Mean": fm, "F-Recall": fr, "F-Decay": fd})
    return out


def evaluate(davis_root: str | os.PathLike, results: str | os.PathLike, split: str = "val",
             workers: int | None = None) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Global metrics and per-object rows for a directory of predictions <results>/<seq>/<frame>.png."""
    davis_root, results = Path(davis_root), Path(results)
    if not results.is_dir():
        raise BenchError(f"{results}: no such results directory (expected <results>/<sequence>/<frame>.png)")
    seqs = sequences(davis_root, split)
    jobs = [(davis_root, results, s) for s in seqs]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            per_seq = list(pool.map(score_sequence, jobs))
    else:
        per_seq = [score_sequence(j) for j in jobs]
    rows = [r for rs in per_seq for r in rs]
    if not rows:
        raise BenchError(f"{davis_root}: no objects in the first annotations of the {split} sequences")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "Sequence"}
    return {"J&F-Mean": (mean["J-Mean"] + mean["F-Mean"]) / 2, **mean}, rows


def write_csvs(out_dir: str | os.PathLike, split: str, glob: dict[str, float], rows: list[dict[str, Any]]) -> tuple[Path, Path]:
    """The official CSVs: global_results-<split>.csv and per-sequence_results-<split>.csv (3 decimals)."""
    out_dir = Path(out_dir)
    g = out_dir / f"global_results-{split}.csv"
    s = out_dir / f"per-sequence_results-{split}.csv"
    keys = ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]
    atomic_write_text(g, ",".join(keys) + "\n" + ",".join(f"{glob[k]:.3f}" for k in keys) + "\n")
    atomic_write_text(s, "Sequence,J-Mean,F-Mean\n" + "".join(f"{r['Sequence']},{r['J-Mean']:.3f},{r['F-Mean']:.3f}\n" for r in rows))
    return g, s
