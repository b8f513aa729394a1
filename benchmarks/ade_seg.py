"""`ade_seg`: FCN on ADE20K (150 classes): mIoU (mmsegmentation; the family in benchmarks.mmseg_seg).
Its protocols: benchmarks/protocols/ade_seg/."""
from __future__ import annotations

from benchmarks.mmseg_seg import MMSegTask


class AdeSeg(MMSegTask):
    """Everything is the family's; what changes a number is in the protocol files."""
