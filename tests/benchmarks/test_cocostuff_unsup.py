"""cocostuff_unsup: PiCIE's mini-batch k-means, assignment and Hungarian metrics against the numbers
PiCIE's own code computes on the same inputs (tests/fixtures/picie_official.json, made by
tests/fixtures/make_picie_official.py), worked examples of the matching, the class table against
PiCIE's pickle, and the protocol checks."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from benchmarks.cocostuff_unsup import coarse_labels, crop, evaluated_classes
from benchmarks.unsup_seg import histogram, hungarian_metrics, picie_kmeans, predict
from harness.errors import BenchError
from harness.registry import TASKS

OFFICIAL = json.loads((Path(__file__).parents[1] / "fixtures" / "picie_official.json").read_text())


def official_inputs():
    i = OFFICIAL["inputs"]
    feats = F.normalize(torch.tensor(i["features"], dtype=torch.float32), dim=1)  # [N, C, H, W], cosine metric
    return i, feats, np.array(i["labels"])


def test_minibatch_kmeans_equals_picie():
    i, feats, _ = official_inputs()
    b = i["batch"]
    batches = (feats[s:s + b].permute(0, 2, 3, 1).reshape(-1, feats.shape[1]).numpy() for s in range(0, len(feats), b))
    got = picie_kmeans(batches, i["n_batches"], i["k"], i["init_batches"], i["update_batches"], i["niter"], i["faiss_seed"])
    np.testing.assert_allclose(got, np.array(OFFICIAL["centroids"]), atol=2e-5)


def test_the_last_short_window_is_not_used_as_in_picie():
    # 7 batches, init 3, windows of 2: batches 0-2, 3-4, 5-6 are used; with 6 batches the sixth is dropped
    i, feats, _ = official_inputs()
    b, c = i["batch"], feats.shape[1]
    cells = [feats[s:s + b].permute(0, 2, 3, 1).reshape(-1, c).numpy() for s in range(0, len(feats), b)]
    five = picie_kmeans(iter(cells[:5]), 6, i["k"], 3, 2, i["niter"], i["faiss_seed"])
    six = picie_kmeans(iter(cells[:6]), 6, i["k"], 3, 2, i["niter"], i["faiss_seed"])
    np.testing.assert_array_equal(five, six)
    seven = picie_kmeans(iter(cells), 7, i["k"], 3, 2, i["niter"], i["faiss_seed"])
    assert not np.allclose(six, seven)


def test_assignment_and_metrics_equal_picie():
    i, feats, labels = official_inputs()
    cent = torch.tensor(OFFICIAL["centroids"], dtype=torch.float32)
    hist = sum(histogram(lab, predict(f, cent, lab.shape), i["k"]) for f, lab in zip(feats, labels))
    r = hungarian_metrics(hist)
    assert r["pAcc"] == pytest.approx(OFFICIAL["pixel_accuracy"], abs=1e-9)
    assert r["mIoU"] == pytest.approx(OFFICIAL["mean_iou"], abs=1e-9)
    # PiCIE's per-class list is indexed by cluster (its new_hist moves class t's row to the row of its
    # cluster); DenseBench's is indexed by class: the same values, matched through the assignment
    np.testing.assert_allclose(r["iou"], np.array(OFFICIAL["iou"])[r["match"]], atol=1e-9)
    assert sorted(r["match"]) == list(range(i["k"])) and list(r["match"]) != list(range(i["k"]))


def test_hungarian_worked_example():
    # classes (rows) x clusters (columns); the best one-to-one match is 0->1, 1->2, 2->0 (6+5+4 = 15
    # of 20 pixels; the greedy row-wise choice 0->1, 1->1 is not one to one)
    hist = np.array([[0, 6, 1],
                     [0, 3, 5],
                     [4, 1, 0]])
    r = hungarian_metrics(hist)
    assert list(r["match"]) == [1, 2, 0]
    assert r["pAcc"] == pytest.approx(75.0)
    # IoU: class 0 / cluster 1: 6 / (7 + 10 - 6); class 1 / cluster 2: 5 / (8 + 6 - 5); class 2 / cluster 0: 4 / (5 + 4 - 4)
    np.testing.assert_allclose(r["iou"], [600 / 11, 500 / 9, 80.0])
    assert r["mIoU"] == pytest.approx((600 / 11 + 500 / 9 + 80) / 3)


def test_a_class_and_cluster_both_empty_is_left_out_of_the_mean():
    hist = np.array([[5, 0, 0], [1, 4, 0], [0, 0, 0]])
    r = hungarian_metrics(hist)
    assert np.isnan(r["iou"][2])
    assert r["mIoU"] == pytest.approx((5 / 6 + 4 / 5) / 2 * 100)


def test_histogram_ignores_labels_outside_the_classes():
    lab = np.array([[0, 1], [-1, 255]])
    pred = np.array([[1, 1], [0, 0]])
    np.testing.assert_array_equal(histogram(lab, pred, 2), [[0, 1], [0, 1]])


def test_protocol_table_is_picies_pickle():
    s = TASKS.protocol("cocostuff_unsup", "picie_kmeans27").settings("paper")
    assert list(s.fine_to_coarse) == OFFICIAL["fine_to_coarse"]
    assert len(s.classes) == 27 and s.kmeans.k == 27
    # the class names follow the pickle's index order: fine 0 (person) -> 9, 2 (car) -> 11, 156 (sky-other) -> 23
    assert [s.classes[s.fine_to_coarse[f]] for f in (0, 2, 156)] == ["person-things", "vehicle-things", "sky-stuff"]


def test_coarse_labels_map_fine_ids_and_ignore_255():
    table = tuple(OFFICIAL["fine_to_coarse"])
    got = coarse_labels(np.array([[0, 181], [255, 95]], np.uint8), table)
    np.testing.assert_array_equal(got, [[9, 24], [-1, 20]])


def test_crop_is_picies_resize_and_centre_crop():
    # 10 x 6 image: shorter side 6 -> 4 gives 7 x 4 (PIL rounds 6.67), the centre 4 x 4 starts at round(1.5) = 2
    lab = Image.fromarray(np.tile(np.arange(10, dtype=np.uint8), (6, 1)), "L")
    img = Image.new("RGB", (10, 6))
    im, got = crop(img, lab, 4)
    assert im.size == (4, 4) and got.shape == (4, 4)
    cols = got[0]
    assert list(cols) == sorted(cols) and cols[0] >= 2 and cols[-1] <= 8


def paper(**changes):
    import dataclasses
    s = TASKS.protocol("cocostuff_unsup", "picie_kmeans27").settings("paper")
    return dataclasses.replace(s, **changes)


def test_mini_scores_the_eight_synthetic_classes():
    s = TASKS.protocol("cocostuff_unsup", "picie_kmeans27").settings("mini")
    classes, table = evaluated_classes(s, "here")
    assert len(classes) == 8 == s.kmeans.k
    assert table[0] == classes.index("person-things") and table[95] == classes.index("building-stuff")
    assert table[1] == classes.index("vehicle-things")   # bicycle: its class is scored, whatever id drew it
    assert table[91] == -1                                # banner: textile-stuff is not among the eight


@pytest.mark.parametrize("changes,message", [
    ({"only": ("person-things", "unicorn-things")}, "only: unicorn-things"),
    ({"only": ("person-things",)}, "kmeans.k 27 differs from the 1 classes"),
    ({"fine_to_coarse": (0, 27)}, "each -1 or a class index 0..26, got 27"),
])
def test_bad_class_settings_are_refused_naming_the_field(changes, message):
    with pytest.raises(BenchError, match=message.replace(".", r"\.")):
        evaluated_classes(paper(**changes), "protocols/x.yaml")
