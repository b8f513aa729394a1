"""Pixel sampling from a region hierarchy (Zhang & Maire, NeurIPS 2020, sec. 3, eqs. 2 and 3).

A UCM region tree T over an image gives the distance d_T(R_a, R_b) between two finest regions: the
height at which they merge. For an anchor pixel i in region R_a, a pixel j in region R_b is

    P(j in Pos(i)) = exp(-d_T(R_a, R_b) / sigma_p) / (sum_{m != a} exp(-d_T(R_a, R_m) / sigma_p) + 1)   (2)
    P(j in Neg(i)) = exp( d_T(R_a, R_b) / sigma_p) /  sum_{m != a} exp( d_T(R_a, R_m) / sigma_p)        (3)

with the self term of (2) cast to 1 ("exp(-d_T(R_a, R_a)/sigma_p) -> 1": the anchor's own region
is always the most likely source of positives) and the anchor's region excluded from (3) (the
paper does not make Neg the complement of Pos, so that vague pixels are in neither). Both are
distributions over regions; a sampled region gives a pixel drawn uniformly inside it.

Per image the paper samples 7 regions and, for each, 10 positives and 5 negatives; it does not say
how the anchor pixel is chosen inside its region: here it is one pixel drawn uniformly from it
(DenseBench's reading, named in the README). Cross-image negatives (cns) are pixels drawn uniformly
from the other images of the batch, never from the anchor's own.
No official code exists: this module is the reference implementation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def region_probabilities(d_T: np.ndarray, a: int, sigma_p: float) -> tuple[np.ndarray, np.ndarray]:
    """Eqs. (2) and (3) for an anchor in region a. d_T: [M, M] region distances (M >= 1).
    Returns (p_pos [M], p_neg [M]); p_pos sums to 1 with p_pos[a] = 1 / (sum_{m != a} exp(-d/sigma) + 1);
    p_neg[a] = 0 and p_neg sums to 1 over the other regions (all zeros when M == 1)."""
    d = np.asarray(d_T, dtype=np.float64)[a]
    others = np.arange(d.size) != a
    pos = np.where(others, np.exp(-d / sigma_p), 1.0)           # the self term cast to 1
    p_pos = pos / (pos[others].sum() + 1.0)
    p_neg = np.zeros_like(d)
    if others.any():
        logits = d[others] / sigma_p
        w = np.exp(logits - logits.max())                        # (3), computed stably
        p_neg[others] = w / w.sum()
    return p_pos, p_neg


@dataclass(frozen=True)
class PixelSample:
    """Flat pixel indices into one image's [H x W] map: anchors [A], positives [A, P], negatives [A, N]."""
    anchors: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray


def _pixel_in(region_pixels: list[np.ndarray], regions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.array([rng.choice(region_pixels[r]) for r in regions], dtype=np.int64)


def sample_pixels(regions: np.ndarray, d_T: np.ndarray, rng: np.random.Generator, n_regions: int = 7,
                  n_pos: int = 10, n_neg: int = 5, sigma_p: float = 0.8) -> PixelSample:
    """Anchors, positives and negatives of one image. regions: [H, W] int map of finest-region ids
    0..M-1; d_T: [M, M]. Anchor regions are drawn uniformly without replacement among the regions
    present (with replacement when fewer than n_regions). An image of one region has no negatives
    inside it: its negatives repeat the anchor (a zero-gradient pair) and cns must supply them."""
    flat = np.asarray(regions).reshape(-1)
    present = np.unique(flat)
    region_pixels = [np.flatnonzero(flat == r) for r in range(int(flat.max()) + 1)]
    chosen = rng.choice(present, size=n_regions, replace=present.size < n_regions)
    anchors, pos, neg = [], [], []
    for a in chosen:
        p_pos, p_neg = region_probabilities(d_T, int(a), sigma_p)
        p_pos, p_neg = _restrict(p_pos, present), _restrict(p_neg, present)
        anchor = rng.choice(region_pixels[a])
        anchors.append(anchor)
        pos.append(_pixel_in(region_pixels, rng.choice(p_pos.size, size=n_pos, p=p_pos), rng))
        if p_neg.sum() > 0:
            neg.append(_pixel_in(region_pixels, rng.choice(p_neg.size, size=n_neg, p=p_neg), rng))
        else:
            neg.append(np.full(n_neg, anchor, dtype=np.int64))
    return PixelSample(np.array(anchors, dtype=np.int64), np.stack(pos), np.stack(neg))


def _restrict(p: np.ndarray, present: np.ndarray) -> np.ndarray:
    """p with regions absent from the (cropped) map zeroed and renormalised (all zeros stays zeros)."""
    q = np.zeros_like(p)
    q[present] = p[present]
    s = q.sum()
    return q / s if s > 0 else q


def cross_image_draws(n_anchors: int, n_cns: int, n_pixels: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """cns for one image, drawn before the batch exists: (offsets [A, n_cns] >= 0, pixels [A, n_cns]).
    other_image() turns an offset into another image of the batch."""
    return (rng.integers(0, 2 ** 31 - 1, size=(n_anchors, n_cns)).astype(np.int64),
            rng.integers(0, n_pixels, size=(n_anchors, n_cns)).astype(np.int64))


def other_image(b: np.ndarray | int, offset: np.ndarray, batch: int) -> np.ndarray:
    """The batch index a cross-image negative of image b comes from: never b itself (batch >= 2),
    uniform over the batch's other images: (b + 1 + offset mod (batch - 1)) mod batch."""
    if batch < 2:
        raise ValueError("cross-image negatives need at least 2 images per batch")
    return (b + 1 + offset % (batch - 1)) % batch
