"""ORL's box rules against hand-made boxes and hand-counted answers (orl_boxes)."""
import math
import random

import numpy as np
import pytest

from pretrainers.orl_boxes import box_filter, iou_xywh, jitter_box, pair_count, top_pairs


def test_iou_hand_computed():
    # [10,10,50,50] vs [12,12,50,50]: intersection 48 x 48 = 2304, union 2500 + 2500 - 2304 = 2696
    assert iou_xywh(np.array([[12, 12, 50, 50]]), np.array([10, 10, 50, 50]))[0] == pytest.approx(2304 / 2696)
    assert iou_xywh(np.array([[60, 0, 40, 40]]), np.array([10, 10, 50, 50]))[0] == 0.0


BOXES = np.array([
    [0, 0, 10, 10],      # w, h < 20: dropped
    [0, 0, 100, 20],     # aspect 5 > 3: dropped
    [10, 10, 50, 50],    # kept (1st)
    [12, 12, 50, 50],    # IoU 0.855 with the kept [10,10,50,50]: dropped
    [60, 0, 40, 40],     # IoU 0 with kept: kept (2nd)
    [30, 30, 60, 60],    # IoU 900/5200 = 0.17 and 300/4900 = 0.06: kept (3rd)
    [0, 0, 60, 20],      # aspect exactly 3: not above the limit, kept (4th); IoU with kept all < 0.5
])


def test_box_filter_size_ratio_and_greedy_iou():
    kept = box_filter(BOXES, min_size=20, max_ratio=3, max_iou=0.5, top_n=100)
    assert kept.tolist() == [[10, 10, 50, 50], [60, 0, 40, 40], [30, 30, 60, 60], [0, 0, 60, 20]]
    # top_n keeps the first survivors in proposal order
    assert box_filter(BOXES, 20, 3, 0.5, top_n=2).tolist() == [[10, 10, 50, 50], [60, 0, 40, 40]]
    # a looser IoU threshold keeps the near-duplicate
    assert [12, 12, 50, 50] in box_filter(BOXES, 20, 3, 0.9, 100).tolist()


def test_box_filter_keeps_the_first_proposal_when_nothing_survives():
    assert box_filter(BOXES[:2], 20, 3, 0.5, 100).tolist() == [[0, 0, 10, 10]]


@pytest.mark.parametrize("n, expected", [(1, 1), (5, 1), (9, 1), (10, 1), (19, 1), (20, 2), (25, 2), (100, 10)])
def test_pair_count_rule(n, expected):
    assert pair_count(n, 0.1) == expected  # int(0.1 x n), at least one


def test_top_pairs_are_the_best_flattened_entries():
    sim = np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.95]])   # 3 query boxes -> int(0.7 x 3) = 2 pairs
    q, k = top_pairs(sim, 0.7)
    assert list(zip(q.tolist(), k.tolist())) == [(2, 1), (0, 1)]
    q, k = top_pairs(sim, 0.1)                                # int(0.3) = 0 -> 1 pair
    assert list(zip(q.tolist(), k.tolist())) == [(2, 1)]


def test_jitter_every_accepted_box_obeys_the_rules():
    rng = random.Random(0)
    box, W, H = [40, 30, 50, 40], 160, 120
    changed = 0
    for _ in range(2000):
        x, y, w, h = jitter_box(box, W, H, rng=rng)
        assert x >= 0 and y >= 0 and x + w <= W and y + h <= H
        assert iou_xywh(np.array([[x, y, w, h]]), np.array(box))[0] > 0.5
        # area factor 0.5-2 and aspect 0.5-2, up to the rounding of w and h to whole pixels
        assert 0.5 * 2000 * 0.9 <= w * h <= 2 * 2000 * 1.1
        assert 0.5 * 0.9 <= (w / h) <= 2 * 1.1
        # centre moved by at most half the box's width / height (+ rounding)
        assert abs(x + w / 2 - 65) <= 25 + 1 and abs(y + h / 2 - 50) <= 20 + 1
        changed += [x, y, w, h] != box
    assert changed > 1900  # the fallback is rare for a box with room around it


class CountingRandom(random.Random):
    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.calls = 0

    def uniform(self, a: float, b: float) -> float:
        self.calls += 1
        return super().uniform(a, b)


def test_jitter_falls_back_to_the_box_after_200_tries():
    rng = CountingRandom(1)
    # IoU can never exceed 1.0: every candidate is rejected, the box itself comes back after 200 tries
    assert jitter_box([5, 5, 20, 20], 40, 40, iou_thr=1.0, rng=rng) == [5, 5, 20, 20]
    assert rng.calls == 200 * 4  # area, aspect, shift x, shift y per try
    # a box filling the image: most candidates leave it; whatever comes back obeys the rules
    rng = random.Random(2)
    for _ in range(200):
        b = jitter_box([0, 0, 32, 32], 32, 32, rng=rng)
        assert b[0] >= 0 and b[1] >= 0 and b[0] + b[2] <= 32 and b[1] + b[3] <= 32
        assert b == [0, 0, 32, 32] or iou_xywh(np.array([b]), np.array([0, 0, 32, 32]))[0] > 0.5


def test_jitter_aspect_is_log_uniform():
    rng = random.Random(3)
    logs = [math.log(w / h) for w, h in (jitter_box([100, 100, 60, 60], 400, 400, iou_thr=0.0, rng=rng)[2:]
                                         for _ in range(4000))]
    # log-uniform in (log 0.5, log 2): symmetric around 0
    assert abs(np.mean(logs)) < 0.03
