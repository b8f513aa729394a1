"""`coco_det`: Mask R-CNN with FPN on COCO 2017: box and mask AP (Detectron2; the family in benchmarks.detectron2_det).
Its protocols: benchmarks/protocols/coco_det/."""
from __future__ import annotations

from benchmarks.detectron2_det import Detectron2Det


class CocoDet(Detectron2Det):
    """Everything is the family's; what changes a number is in the protocol files."""
