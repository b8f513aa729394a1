"""faster-coco-eval and pycocotools give the same COCOEvaluator numbers (to 1e-4) on the synthetic val
set: box and mask AP of noisy copies of the ground truth, some with the wrong class."""
import json

import numpy as np
import pycocotools.mask as mask_util
import pytest
import torch

from benchmarks import d2_adapter
from benchmarks.detectron2_det import register_coco


def _predictions(root):
    """COCOEvaluator inputs/outputs holding app.perf.coco_eval.noisy_detections of the val set."""
    from detectron2.structures import Boxes, Instances
    from app.perf.coco_eval import noisy_detections
    gt = json.loads((root / "annotations" / "instances_val2017.json").read_text())
    dets = noisy_detections(gt)
    inputs, outputs = [], []
    for im in gt["images"]:
        h, w = im["height"], im["width"]
        mine = [d for d in dets if d["image_id"] == im["id"]]
        inst = Instances((h, w))
        xyxy = [[x, y, x + bw, y + bh] for x, y, bw, bh in (d["bbox"] for d in mine)]
        inst.pred_boxes = Boxes(torch.tensor(xyxy, dtype=torch.float32).reshape(-1, 4))
        inst.scores = torch.tensor([d["score"] for d in mine])
        inst.pred_classes = torch.tensor([d["category_id"] - 1 for d in mine], dtype=torch.int64)
        masks = [mask_util.decode({**d["segmentation"], "counts": d["segmentation"]["counts"].encode()}) for d in mine]
        inst.pred_masks = torch.tensor(np.array(masks, dtype=bool)).reshape(-1, h, w)
        inputs.append({"image_id": im["id"], "height": h, "width": w})
        outputs.append({"instances": inst})
    return inputs, outputs


def _evaluate(name, inputs, outputs, backend, tmp_path):
    from detectron2.evaluation import COCOEvaluator
    with d2_adapter.use_coco_eval(backend):
        ev = COCOEvaluator(name, output_dir=str(tmp_path / backend), use_fast_impl=False)
        ev.reset()
        ev.process(inputs, outputs)
        return ev.evaluate()


def test_faster_coco_eval_matches_pycocotools(tiny_coco, tmp_path):
    pytest.importorskip("faster_coco_eval")
    name, _ = register_coco(tiny_coco, "val")
    inputs, outputs = _predictions(tiny_coco)
    ref = _evaluate(name, inputs, outputs, "pycocotools", tmp_path)
    fast = _evaluate(name, inputs, outputs, "faster-coco-eval", tmp_path)
    assert set(ref) == {"bbox", "segm"} and ref.keys() == fast.keys()
    for kind in ref:
        assert ref[kind].keys() == fast[kind].keys()
        for k, v in ref[kind].items():
            if np.isnan(v):
                assert np.isnan(fast[kind][k]), (kind, k)
            else:
                assert fast[kind][k] == pytest.approx(v, abs=1e-4), (kind, k)
    assert 1 < ref["bbox"]["AP"] < 90 and 1 < ref["segm"]["AP"] < 90  # a non-trivial score


def test_backend_choice_is_reported():
    assert d2_adapter.coco_eval_backend() in ("detectron2-compiled", "faster-coco-eval", "pycocotools")


def test_perf_coco_eval_compares_both_backends():
    pytest.importorskip("faster_coco_eval")
    from app.perf.coco_eval import coco_eval_speed
    r = coco_eval_speed(n_images=12)
    assert r["images"] == 12 and r["detections"] > 24
    for iou in ("bbox", "segm"):
        assert r[f"{iou}_max_abs_diff"] < 1e-4 and r[f"{iou}_pycocotools_s"] >= 0 and r[f"{iou}_faster-coco-eval_s"] >= 0
