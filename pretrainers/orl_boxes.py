"""ORL's box rules (Xie et al. 2021, sec. 3.2-3.3), as pure functions on (x, y, w, h) boxes in pixels.

Facts from Jiahao000/ORL: `datasets/selective_search.py` (proposals), `datasets/correspondence.py`
(box_filter, get_max_iou), `models/correspondence.py` (top-ranked RoI pairs), `datasets/orl.py`
(aug_bbox: the jittered intra-RoI box).
"""
from __future__ import annotations

import math
import random as _random
from typing import Any

import numpy as np


def selective_search(image_bgr: np.ndarray) -> np.ndarray:
    """OpenCV's selective search in fast mode (opencv-contrib's ximgproc) on an HxWx3 uint8 BGR
    image: [B, 4] int (x, y, w, h), in OpenCV's order."""
    import cv2
    ss = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    ss.setBaseImage(image_bgr)
    ss.switchToSelectiveSearchFast()
    boxes = ss.process()
    return np.asarray(boxes, dtype=np.int64).reshape(-1, 4)


def iou_xywh(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    """IoU of each of boxes [B, 4] with one box [4], areas w x h (no +1, as the official code)."""
    boxes, box = np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(box, dtype=np.float64)
    iw = np.maximum(np.minimum(boxes[:, 0] + boxes[:, 2], box[0] + box[2]) - np.maximum(boxes[:, 0], box[0]), 0)
    ih = np.maximum(np.minimum(boxes[:, 1] + boxes[:, 3], box[1] + box[3]) - np.maximum(boxes[:, 1], box[1]), 0)
    inter = iw * ih
    return inter / (boxes[:, 2] * boxes[:, 3] + box[2] * box[3] - inter)


def box_filter(boxes: np.ndarray, min_size: float, max_ratio: float, max_iou: float, top_n: int) -> np.ndarray:
    """Proposals kept for correspondence, in order: drop w or h < min_size, drop aspect (either way)
    > max_ratio, drop a box whose IoU with any already-kept box > max_iou (greedy, in proposal order),
    then the first top_n. If nothing survives, the first proposal is kept (the official code's
    "at least one box for each image"). boxes: [B, 4] (x, y, w, h) -> [B', 4]."""
    boxes = np.asarray(boxes).reshape(-1, 4)
    kept: list[np.ndarray] = []
    for b in boxes:
        w, h = float(b[2]), float(b[3])
        if w < min_size or h < min_size:
            continue
        if w / h > max_ratio or h / w > max_ratio:
            continue
        if kept and iou_xywh(np.stack(kept), b).max() > max_iou:
            continue
        kept.append(b)
    if not kept and len(boxes):
        kept.append(boxes[0])
    return np.stack(kept[:top_n]) if kept else boxes[:0]


def pair_count(n_query_boxes: int, ratio: float) -> int:
    """RoI pairs kept per (query image, neighbour): int(ratio x query boxes), at least 1."""
    return max(int(ratio * n_query_boxes), 1)


def top_pairs(sim: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """The top pair_count(Bq) entries of the flattened RoI cosine matrix sim [Bq, Bk], best first:
    (query box indices, key box indices), each [k]. Ties keep the lower flat index first."""
    k = min(pair_count(sim.shape[0], ratio), sim.size)
    flat = sim.reshape(-1)
    top = np.argsort(-flat, kind="stable")[:k]
    return top // sim.shape[1], top % sim.shape[1]


def jitter_box(box: Any, img_w: int, img_h: int, shift: tuple[float, float] = (-0.5, 0.5),
               scale: tuple[float, float] = (0.5, 2.0), ratio: tuple[float, float] = (0.5, 2.0),
               iou_thr: float = 0.5, tries: int = 200, rng: Any = _random) -> list[int]:
    """The intra-RoI partner of `box` (x, y, w, h): area x U(scale), aspect log-uniform in `ratio`,
    centre moved by U(shift) x (w, h); accepted if inside the image and IoU > iou_thr with `box`.
    After `tries` rejections the box itself is returned (as the official code does)."""
    x, y, w, h = (float(v) for v in box)
    cx, cy, area = x + 0.5 * w, y + 0.5 * h, w * h
    log_r = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(tries):
        a = rng.uniform(*scale) * area
        r = math.exp(rng.uniform(*log_r))
        nw, nh = int(round(math.sqrt(a * r))), int(round(math.sqrt(a / r)))
        ncx, ncy = cx + rng.uniform(*shift) * w, cy + rng.uniform(*shift) * h
        nx, ny = int(round(ncx - 0.5 * nw)), int(round(ncy - 0.5 * nh))
        if nx >= 0 and ny >= 0 and nx + nw <= img_w and ny + nh <= img_h:
            cand = [nx, ny, nw, nh]
            if iou_xywh(np.array([cand]), np.array([x, y, w, h]))[0] > iou_thr:
                return cand
    return [int(v) for v in box]
