"""`voc_det`: Faster R-CNN R50-C4 on VOC07+12 -> VOC2007 test: AP, AP50, AP75 (Detectron2; the family in benchmarks.detectron2_det).
Its protocols: benchmarks/protocols/voc_det/."""
from __future__ import annotations

from benchmarks.detectron2_det import Detectron2Det


class VocDet(Detectron2Det):
    """Everything is the family's; what changes a number is in the protocol files."""
