"""`bench perf coco-eval`: COCO evaluation time of pycocotools and faster-coco-eval on a synthetic set
of COCO val's size (5000 images by default), box and mask, with the numbers compared."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np


def noisy_detections(gt: dict[str, Any], seed: int = 0) -> list[dict[str, Any]]:
    """Two detections per ground-truth object, COCO results format: a jittered true one and a jittered
    one of a random class; RLE masks shifted by up to 2 px; random scores."""
    import pycocotools.mask as mask_util
    rng = np.random.default_rng(seed)
    sizes = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    n_cls = len(gt["categories"])
    out = []
    for a in gt["annotations"]:
        h, w = sizes[a["image_id"]]
        m = mask_util.decode(mask_util.merge(mask_util.frPyObjects(a["segmentation"], h, w)))
        for k in range(2):
            x, y, bw, bh = np.array(a["bbox"]) + rng.normal(0, 2, 4)
            rle = mask_util.encode(np.asfortranarray(np.roll(m, int(rng.integers(-2, 3)), axis=1)))
            rle["counts"] = rle["counts"].decode()
            out.append({"image_id": a["image_id"], "category_id": a["category_id"] if k == 0 else int(rng.integers(1, n_cls + 1)),
                        "bbox": [float(x), float(y), float(max(bw, 1)), float(max(bh, 1))],
                        "score": float(rng.random()), "segmentation": rle})
    return out


def coco_eval_speed(n_images: int = 5000, seed: int = 0) -> dict[str, Any]:
    """Seconds of evaluate + accumulate + summarize per backend and IoU type, and the largest
    difference between their 12 summary numbers."""
    import tempfile

    from faster_coco_eval import COCOeval_faster
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from harness.data.coco import write_synthetic_coco
    with tempfile.TemporaryDirectory() as d:
        root = write_synthetic_coco(Path(d) / "coco", seed=seed, n_train=1, n_val=n_images)
        ann = root / "annotations" / "instances_val2017.json"
        dets = noisy_detections(json.loads(ann.read_text()), seed)
        out: dict[str, Any] = {"images": n_images, "detections": len(dets)}
        for iou in ("bbox", "segm"):
            stats = {}
            for name, cls in (("pycocotools", COCOeval), ("faster-coco-eval", COCOeval_faster)):
                with contextlib.redirect_stdout(io.StringIO()):
                    gt = COCO(str(ann))
                    ev = cls(gt, gt.loadRes(copy.deepcopy(dets)), iou)
                    t0 = time.perf_counter()
                    ev.evaluate()
                    ev.accumulate()
                    ev.summarize()
                out[f"{iou}_{name}_s"] = round(time.perf_counter() - t0, 3)
                stats[name] = np.array(ev.stats[:12], dtype=float)
            out[f"{iou}_speedup"] = round(out[f"{iou}_pycocotools_s"] / max(out[f"{iou}_faster-coco-eval_s"], 1e-9), 1)
            out[f"{iou}_max_abs_diff"] = float(np.abs(stats["pycocotools"] - stats["faster-coco-eval"]).max())
    return out
