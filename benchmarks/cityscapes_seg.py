"""`cityscapes_seg`: FCN on Cityscapes train -> val: mIoU (mmsegmentation; the family in benchmarks.mmseg_seg).
Its protocols: benchmarks/protocols/cityscapes_seg/."""
from __future__ import annotations

from benchmarks.mmseg_seg import MMSegTask


class CityscapesSeg(MMSegTask):
    """Everything is the family's; what changes a number is in the protocol files."""
