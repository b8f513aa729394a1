"""Pair precision (DenseBench's stage-2 diagnostic) on hand-made class maps, and the pairs grid."""
import numpy as np
import pytest
from PIL import Image

from pretrainers.orl_inspect import dominant_class, pair_precision, top_pairs_grid


def _maps():
    a = np.zeros((20, 20), np.int32)
    a[0:10, 0:10] = 1          # class 1 fills the top-left quarter
    a[10:20, 10:16] = 2        # class 2: a 10 x 6 strip
    b = np.zeros((20, 20), np.int32)
    b[5:15, 5:15] = 1
    return {"a.jpg": a, "b.jpg": b}


def test_dominant_class():
    m = _maps()["a.jpg"]
    assert dominant_class(m, [0, 0, 10, 10]) == 1            # 100 % class 1
    assert dominant_class(m, [0, 0, 14, 10]) == 1            # 100 / 140 = 71 %
    assert dominant_class(m, [0, 0, 20, 10]) == 1            # exactly 50 %: dominated (>= 0.5)
    assert dominant_class(m, [0, 0, 20, 11]) == 0            # 100 / 220 < 50 %: background wins
    assert dominant_class(m, [10, 10, 10, 10]) == 2          # 60 % class 2
    assert dominant_class(m, [10, 10, 10, 10], dominance=0.7) == 0


def test_pair_precision_hand_counted():
    corr = {"images": ["a.jpg", "b.jpg"], "knn": [[1], [0]],
            "pairs": [[[[0, 0, 10, 10, 5, 5, 10, 10],      # 1 | 1: hit
                        [10, 10, 10, 10, 5, 5, 10, 10],    # 2 | 1: both dominated, different classes
                        [0, 0, 20, 11, 5, 5, 10, 10]]],    # background | 1: miss
                      [[[5, 5, 10, 10, 2, 2, 8, 8]]]]}     # 1 | 1 (a's [2,2,8,8] is all class 1): hit
    p = pair_precision(corr, _maps())
    assert p == {"pair_precision": pytest.approx(2 / 4), "both_dominated": pytest.approx(3 / 4),
                 "object_pair_precision": pytest.approx(2 / 3), "pairs": 4}


def test_grid_ranks_by_score(tmp_path):
    for n, m in _maps().items():
        Image.fromarray((m * 100).astype(np.uint8)).convert("RGB").save(tmp_path / n)
    corr = {"images": ["a.jpg", "b.jpg"], "knn": [[1], [0]],
            "pairs": [[[[0, 0, 10, 10, 5, 5, 10, 10], [10, 10, 10, 10, 5, 5, 10, 10]]], [[[5, 5, 10, 10, 2, 2, 8, 8]]]],
            "pair_scores": [[[0.5, 0.9]], [[0.7]]]}
    out = top_pairs_grid(corr, {n: tmp_path / n for n in corr["images"]}, tmp_path / "g.png", top=2, side=32,
                         maps=_maps())
    im = Image.open(out)
    assert im.size == (2 * 32 + 90, 2 * 36)
    # row 0 is the 0.9 pair: a's class-2 strip on the left
    assert np.abs(np.asarray(im)[5, 5].astype(int) - 200).max() <= 25  # (JPEG)
    assert np.abs(np.asarray(im)[36 + 5, 5].astype(int) - 100).max() <= 25  # row 1, the 0.7 pair: b's class 1
