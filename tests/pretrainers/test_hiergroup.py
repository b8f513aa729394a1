"""Zhang & Maire's sampling (eqs. 2, 3) on a hand-made three-region tree, cns, and the loss (eq. 1)
against a straightforward loop (issue 19: the pieces that exist so far)."""
import math

import numpy as np
import pytest
import torch

from pretrainers.hiergroup import hiergroup_loss
from pretrainers.hiergroup_sampling import cross_image_draws, other_image, region_probabilities, sample_pixels

# R0 and R1 merge at height 0.5, R2 joins them at 2.0 (an ultrametric: d(0,2) = d(1,2))
D = np.array([[0.0, 0.5, 2.0], [0.5, 0.0, 2.0], [2.0, 2.0, 0.0]])


def test_probabilities_hand_computed():
    p_pos, p_neg = region_probabilities(D, 0, 0.8)
    # exp(-0.5/0.8) = 0.535261, exp(-2/0.8) = 0.082085; denominator 0.535261 + 0.082085 + 1 (self cast) = 1.617346
    assert p_pos == pytest.approx([1 / 1.617346, 0.535261 / 1.617346, 0.082085 / 1.617346], abs=1e-6)
    # exp(0.5/0.8) = 1.868246, exp(2/0.8) = 12.182494; sum 14.050740; the anchor's region excluded
    assert p_neg == pytest.approx([0.0, 1.868246 / 14.050740, 12.182494 / 14.050740], abs=1e-6)
    p_pos, p_neg = region_probabilities(D, 2, 0.8)
    # anchor in R2: both others at 2.0 -> 2 x 0.082085 + 1 = 1.164170
    assert p_pos == pytest.approx([0.082085 / 1.164170, 0.082085 / 1.164170, 1 / 1.164170], abs=1e-6)
    assert p_neg == pytest.approx([0.5, 0.5, 0.0])


def test_self_similarity_is_cast_to_one():
    d = D.copy()
    d[0, 0] = 3.0  # a non-zero self distance (e.g. a node's own height) must not lower the anchor's weight
    assert region_probabilities(d, 0, 0.8)[0] == pytest.approx(region_probabilities(D, 0, 0.8)[0])
    assert region_probabilities(np.zeros((1, 1)), 0, 0.8)[0].tolist() == [1.0]


def test_sampled_pixels_follow_the_regions():
    regions = np.zeros((6, 6), int)
    regions[:, 3:] = 1
    regions[4:, :] = 2
    rng = np.random.default_rng(0)
    counts = np.zeros((3, 3))
    for _ in range(300):
        s = sample_pixels(regions, D, rng, n_regions=3, n_pos=10, n_neg=5)
        ra = regions.reshape(-1)[s.anchors]
        assert s.positives.shape == (3, 10) and s.negatives.shape == (3, 5) and len(set(ra)) == 3
        for a, pos, neg in zip(ra, s.positives, s.negatives):
            assert a not in regions.reshape(-1)[neg]             # never a negative from the anchor's region
            counts[a] += np.bincount(regions.reshape(-1)[pos], minlength=3)
    freq = counts / counts.sum(axis=1, keepdims=True)
    assert freq[0] == pytest.approx(region_probabilities(D, 0, 0.8)[0], abs=0.02)


def test_cross_image_negatives_never_come_from_the_anchors_image():
    rng = np.random.default_rng(1)
    for batch in (2, 3, 5):
        seen = set()
        for b in range(batch):
            offsets, pixels = cross_image_draws(7, 5, 100, rng)
            imgs = other_image(b, offsets, batch)
            assert offsets.shape == pixels.shape == (7, 5) and pixels.max() < 100
            assert b not in imgs and set(imgs.ravel()) <= set(range(batch))
            seen |= {(b, int(i)) for i in imgs.ravel()}
        assert len(seen) == batch * (batch - 1)  # every other image is reachable
    with pytest.raises(ValueError):
        other_image(0, np.zeros(3, int), 1)


def test_loss_against_a_loop():
    torch.manual_seed(0)
    fa, fp, fn = torch.randn(3, 4), torch.randn(3, 2, 4), torch.randn(3, 5, 4)
    cos = lambda u, v: float(u @ v / (u.norm() * v.norm()))  # noqa: E731
    terms = []
    for i in range(3):
        neg = sum(math.exp(cos(fa[i], fn[i, n])) for n in range(5))
        for m in range(2):
            e = math.exp(cos(fa[i], fp[i, m]))
            terms.append(e / (e + neg))
    assert hiergroup_loss(fa, fp, fn).item() == pytest.approx(-sum(terms) / len(terms), rel=1e-6)
    # hand value: anchor = positive, negatives orthogonal -> e / (e + N): 1 anchor, 1 positive, 2 negatives
    a = torch.tensor([[1.0, 0.0, 0.0]])
    assert hiergroup_loss(a, a[:, None], torch.tensor([[[0.0, 1.0, 0.0], [0.0, 0.0, 3.0]]])).item() == \
        pytest.approx(-math.e / (math.e + 2), abs=1e-6)
