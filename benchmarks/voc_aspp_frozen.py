"""`voc_aspp_frozen`: Zhang & Maire's probe: a DeepLabV3 ASPP head on a frozen backbone, VOC: mIoU (mmsegmentation; the family in benchmarks.mmseg_seg; the backbone is checked unchanged).
Its protocols: benchmarks/protocols/voc_aspp_frozen/."""
from __future__ import annotations

from benchmarks.mmseg_seg import MMSegTask


class VocAsppFrozen(MMSegTask):
    """Everything is the family's; what changes a number is in the protocol files."""
