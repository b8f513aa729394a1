"""`voc_seg`: FCN on VOC 2012 aug -> val: mIoU (mmsegmentation; the family in benchmarks.mmseg_seg).
Its protocols: benchmarks/protocols/voc_seg/."""
from __future__ import annotations

from benchmarks.mmseg_seg import MMSegTask


class VocSeg(MMSegTask):
    """Everything is the family's; what changes a number is in the protocol files."""
