"""The disk dilation as a chain of small dilations: equal to OpenCV's dilation by skimage's disk."""
import cv2
import numpy as np
import pytest
from skimage.morphology import disk as sk_disk

from benchmarks.davis_disk import dilate, disk, factors, hull, lattice_points


def _chain_dilation(m: np.ndarray, radius: int) -> np.ndarray:
    """Dilation of a uint8 map [h, w] by disk(radius) through the chain, cropped back to [h, w]."""
    ch = factors(radius)
    p, (oy, ox) = ch.pad, ch.offset
    h, w = m.shape
    canvas = np.zeros((h + 2 * p, w + 2 * p), np.uint8)
    canvas[p:p + h, p:p + w] = m
    return dilate(canvas, ch)[p + oy:p + oy + h, p + ox:p + ox + w]


@pytest.mark.parametrize("radius", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 18, 22])
def test_chain_equals_the_disk_dilation_on_random_maps(radius):
    rng = np.random.default_rng(radius)
    for density in (0.002, 0.03, 0.3):
        m = (rng.random((61, 83)) < density).astype(np.uint8)
        official = cv2.dilate(m, sk_disk(radius).astype(np.uint8))   # what the official f_measure runs
        np.testing.assert_array_equal(_chain_dilation(m, radius), official)


def test_480p_radius_is_factorised():
    # 854x480 frames: radius ceil(0.008 * 979.6) = 8; its 197-point disk becomes 5 kernels of 25
    # points in all (the speed-up rests on this; other radii may keep the disk, still exact)
    ch = factors(8)
    assert len(ch.kernels) == 5 and sum(int(k.sum()) for k, _ in ch.kernels) == 25
    assert int(disk(8).sum()) == 197


def test_disk_is_skimage_disk():
    for r in range(0, 12):
        np.testing.assert_array_equal(disk(r), sk_disk(r).astype(np.uint8))


def test_hull_and_lattice_points():
    assert hull([(0, 0), (2, 0), (1, 1), (2, 2), (0, 2), (1, 0)]) == [(0, 0), (2, 0), (2, 2), (0, 2)]
    # the triangle (0,0), (2,0), (0,2): 6 lattice points on or inside
    assert sorted(lattice_points([(0, 0), (2, 0), (0, 2)])) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0)]
