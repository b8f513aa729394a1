import numpy as np
import pytest
import torch

from benchmarks.voc_retrieval import confusion_iou, image_segments, segment_image
from harness import runs


def test_confusion_iou_worked_example():
    conf = np.array([[8, 2, 0], [1, 4, 0], [0, 0, 0]])   # rows: ground truth, columns: prediction
    iou = confusion_iou(conf)
    assert iou[0] == pytest.approx(8 / (10 + 9 - 8)) and iou[1] == pytest.approx(4 / (5 + 6 - 4)) and np.isnan(iou[2])


def test_kmeans_segments_follow_the_embedding():
    feat = torch.zeros(4, 6, 8)
    feat[0, :, :4] = 1      # left half one direction, right half another
    feat[1, :, 4:] = 1
    seg = segment_image(feat, 2, seed=0)
    assert len(np.unique(seg)) == 2 and len(np.unique(seg[:, :4])) == 1 and seg[0, 0] != seg[0, 7]
    label = np.zeros((12, 16), np.uint8)
    label[:, 8:] = 7
    label[0, 0] = 255
    desc, major, smap = image_segments(feat, label, 2, 0, 21)
    assert sorted(major.tolist()) == [0, 7] and smap.shape == (12, 16)
    np.testing.assert_allclose(np.linalg.norm(desc, axis=1), 1, rtol=1e-6)


@pytest.mark.slow
def test_voc_retrieval_mini_end_to_end(tmp_path):
    from pathlib import Path
    ck = runs.pretrain("random", "mini", 0)
    rec = runs.evaluate(ck, "voc_retrieval", None, "mini", results_root=tmp_path,
                        overrides={"dataset": {"synth": {"n_train": 30, "n_val": 8}}})
    assert 0 < rec["metrics"]["mIoU"] <= 100 and rec["metrics"]["IoU.background"] is not None
    assert rec["notes"]["segments"]["query"] == 8 * 15
    assert (Path(rec["_path"]).parent / rec["artefacts"]["grid"]).stat().st_size > 1000
