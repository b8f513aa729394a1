"""`pixcontrast`: PixContrast (Xie et al. 2021, section 3.2), PixPro's sibling: the same network,
views and positive-pixel rule (pretrainers.pixpro), with an InfoNCE loss over pixels instead of pixel
propagation (`pixcontrast_loss` in pretrainers.pixpro, beside PixPro's: positives as PixPro's,
negatives the other view's non-positive pixels, temperature tau 0.3, symmetrised)."""
from __future__ import annotations

from pretrainers.pixpro import PixelMethod


class PixContrast(PixelMethod):
    loss = "pixcontrast"
