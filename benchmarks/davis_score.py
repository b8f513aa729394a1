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
Why it is faster with identical numbers: the same operations run only on the box around each
object's prediction and ground truth instead of the whole frame, masks are compared as uint8 label
maps instead of float64 one-hot stacks, the boundary maps are built by OpenCV into padded canvases,
the disk dilation is the same set operation as a chain of five small dilations
(benchmarks/davis_disk.py: 25 kernel points instead of 197 at 480p, checked against the disk),
frames are decoded and scored one at a time, and sequences are scored in parallel processes.
Deviation, named: a prediction
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

from benchmarks.davis_disk import Factors, dilate, factors
from harness.files import atomic_write_text
from harness.data.davis import annotation_files, read_indexed, sequences
from harness.errors import BenchError


def boundaries(seg: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1-px boundary map of a mask [H, W] (bool, or uint8 holding one value inside and another
    outside), as the official _seg2bmap: a pixel differs from its east, south or south-east
    neighbour; the last row compares with its east neighbour only, the last column with its south
    one, the bottom-right corner is never a boundary. Returns uint8 [H, W], nonzero (255) on the
    boundary, or fills `out` (uint8 zeros [H, W], a view of a larger canvas is fine) and returns it."""
    if seg.dtype == bool:
        seg = seg.view(np.uint8)
    b = np.zeros(seg.shape, np.uint8) if out is None else out
    h, w = seg.shape
    # OpenCV writes into the views of b (3-4x faster than numpy's boolean ops on an object's crop)
    if w > 1:
        cv2.compare(seg[:, :-1], seg[:, 1:], cv2.CMP_NE, dst=b[:, :-1])                  # east, every row
    if h > 1:
        cv2.bitwise_or(b[:-1], cv2.compare(seg[:-1], seg[1:], cv2.CMP_NE), dst=b[:-1])     # south, every column
    if h > 1 and w > 1:
        cv2.bitwise_or(b[:-1, :-1], cv2.compare(seg[:-1, :-1], seg[1:, 1:], cv2.CMP_NE), dst=b[:-1, :-1])  # south-east
    return b


def _canvas(shape: tuple[int, ...], pad: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 zeros [h + 2 pad, w + 2 pad] and its [h, w] interior (a view)."""
    c = np.zeros((shape[0] + 2 * pad, shape[1] + 2 * pad), np.uint8)
    return c, c[pad:pad + shape[0], pad:pad + shape[1]]


def f_measure(pred_b: np.ndarray, gt_b: np.ndarray, radius: int) -> float:
    """Boundary F of one frame from boundary maps pred_b, gt_b (bool [H, W], or crops holding both)."""
    chain = factors(radius)
    (pc, pi), (gc, gi) = _canvas(pred_b.shape, chain.pad), _canvas(gt_b.shape, chain.pad)
    pi[...], gi[...] = pred_b, gt_b
    return _f(pc, gc, chain)


def _f(pred_c: np.ndarray, gt_c: np.ndarray, chain: Factors) -> float:
    """Boundary F from uint8 boundary maps with `chain.pad` zeros on every side."""
    n_fg, n_gt = cv2.countNonZero(pred_c), cv2.countNonZero(gt_c)
    if n_fg == 0 and n_gt == 0:
        return 1.0
    if n_fg == 0 or n_gt == 0:
        return 0.0  # precision or recall is 0, the other 1
    # the official step, dilation by the disk, on the crop (dilation outside it cannot reach a
    # boundary pixel of the other map, which all lie inside), as a chain of small dilations
    precision = _matched(gt_c, pred_c, chain) / n_fg
    recall = _matched(pred_c, gt_c, chain) / n_gt
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _matched(src_c: np.ndarray, other_c: np.ndarray, chain: Factors) -> int:
    """Pixels of the boundary map other_c within the disk around a pixel of src_c (padded uint8 each)."""
    p, (oy, ox) = chain.pad, chain.offset
    h, w = src_c.shape[0] - 2 * p, src_c.shape[1] - 2 * p
    near = dilate(src_c, chain)[p + oy:p + oy + h, p + ox:p + ox + w]
    return cv2.countNonZero(cv2.bitwise_and(near, other_c[p:p + h, p:p + w]))


def _crop_scores(g: np.ndarray, p: np.ndarray, union: int, radius: int) -> tuple[float, float]:
    """(J, F) of one object in one frame from uint8 crops (255 inside the masks, 0 outside) that hold
    every pixel of both masks plus one pixel of margin on each side (so boundary maps inside the crop
    equal the full frame's); union: the pixels in either mask (> 0)."""
    chain = factors(radius)
    (pc, pi), (gc, gi) = _canvas(p.shape, chain.pad), _canvas(g.shape, chain.pad)
    boundaries(p, out=pi)
    boundaries(g, out=gi)
    return cv2.countNonZero(cv2.bitwise_and(g, p)) / union, _f(pc, gc, chain)


def _box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """Bounding box of the nonzero pixels of a uint8 mask, grown by one pixel each side, clipped to
    the mask; None if it is empty."""
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0:
        return None
    return slice(max(y - 1, 0), min(y + h + 1, mask.shape[0])), slice(max(x - 1, 0), min(x + w + 1, mask.shape[1]))


def frame_scores(gt: np.ndarray, pred: np.ndarray, n: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """J and F [n] of objects 1..n in one frame from label maps gt, pred (uint8 [H, W]; gt may hold
    void, 255, which equals no object id). Each object is compared within the box around every
    labelled pixel of both maps, and scored within its own box: work is proportional to the boxes."""
    J, F = np.ones(n), np.ones(n)
    region = _box(cv2.bitwise_or(gt, pred))   # nothing labelled in either map: every object scores 1, 1
    if region is None:
        return J, F
    # an object's box in the region equals its box in the frame: the region has a pixel of margin
    # on each side except where the frame ends, where the object's box is clipped alike
    gt, pred = gt[region], pred[region]
    for o in range(n):
        g, p = cv2.compare(gt, o + 1, cv2.CMP_EQ), cv2.compare(pred, o + 1, cv2.CMP_EQ)   # 255 where equal
        either = cv2.bitwise_or(g, p)
        box = _box(either)
        if box is not None:
            J[o], F[o] = _crop_scores(g[box], p[box], cv2.countNonZero(either[box]), radius)
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
    """One label map of the given size (a read-only view of the decoded bytes where possible)."""
    a = read_indexed(f, writeable=False)
    if a.shape != shape:
        raise BenchError(f"{f}: size {a.shape[1]}x{a.shape[0]} differs from {what} ({shape[1]}x{shape[0]})")
    return a


def _objects(first: np.ndarray) -> int:
    """Object count of a sequence: the largest id of its first annotation, void (255) set to background."""
    # the largest value outside void (0 when every pixel is void): 0.05 ms at 480p, a bincount 1.3 ms
    return int(cv2.minMaxLoc(first, mask=cv2.compare(first, 255, cv2.CMP_NE))[1])


def score_sequence(args: tuple[Path, Path, str]) -> list[dict[str, Any]]:
    """Per-object statistics of one sequence (runs in a worker process). Frames are read and scored
    one at a time (each decoded map is dropped before the next is read, so memory is reused); the
    first and last annotations are not scored, the last is read to check its size as the official
    reader does."""
    davis_root, results, seq = args
    keep_freed_memory()
    files = annotation_files(davis_root, seq)
    first = read_indexed(files[0], writeable=False)
    n, shape = _objects(first), first.shape
    radius = math.ceil(0.008 * math.hypot(*shape))
    T = max(len(files) - 2, 0)
    J, F = np.ones((n, T)), np.ones((n, T))
    for t, f in enumerate(files[1:]):
        gt = _read_as(f, shape, "the sequence's first annotation")
        if t == T:
            break
        p = results / seq / f"{f.stem}.png"
        if not p.is_file():
            raise BenchError(f"{p}: missing prediction (expected an indexed PNG per annotated frame)")
        pred = _read_as(p, shape, "its annotation")
        if pred.max() > n:
            raise BenchError(f"{p}: prediction uses object id {int(pred.max())} but the first annotation has {n} objects")
        J[:, t], F[:, t] = frame_scores(gt, pred, n, radius)
    out = []
    for o in range(n):
        jm, jr, jd = statistics(J[o])
        fm, fr, fd = statistics(F[o])
        out.append({"Sequence": f"{seq}_{o + 1}", "J-Mean": jm, "J-Recall": jr, "J-Decay": jd,
                    "F-Mean": fm, "F-Recall": fr, "F-Decay": fd})
    return out


@functools.cache
def keep_freed_memory() -> None:
    """Once per process (scoring workers, or the caller's process when it scores in-process): let
    glibc's malloc serve blocks of up to 4 MiB from its heap and keep up to 64 MiB freed there
    (mallopt(3)); a process-wide setting, kept for the process's life. Why: every frame inflates two
    410 KB maps and OpenCV allocates full-frame results; with glibc's defaults the heap's top was
    trimmed and grown again, or blocks mapped fresh from the kernel, about 270 page faults a frame
    (400,000 for five scorings of the 8 x 40 set on one process, 7,500 with these settings); the
    code before 2026-12-02 escaped this only because a 410 KB copy it made happened to raise glibc's
    dynamic thresholds. Not glibc: no change."""
    import ctypes
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 4 << 20)     # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 << 20)    # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


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
