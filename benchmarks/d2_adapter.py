"""Every private Detectron2 API DenseBench calls, behind one door.

Written against Detectron2 v0.6 (facebookresearch/detectron2 tag v0.6, commit d1e04565; the
`pb1-detectron2==0.6` sdist carries the same files). If a later Detectron2 renames one of these,
the error says which call and which version it was written against, instead of an AttributeError
deep inside a run.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from harness.errors import BenchError

WRITTEN_AGAINST = "0.6"


def _installed() -> str:
    try:
        import detectron2
        return getattr(detectron2, "__version__", "unknown")
    except ImportError:
        return "not installed"


def _missing(what: str) -> BenchError:
    return BenchError(f"Detectron2 {_installed()} has no {what}, which DenseBench's adapter "
                      f"(benchmarks/d2_adapter.py) calls; it was written against Detectron2 v{WRITTEN_AGAINST}")


def load_and_report(model: Any, weights: str) -> Any:
    """Load a weights file into `model` and return Detectron2's incompatible-keys report (missing,
    unexpected and wrong-shape keys). Public `DetectionCheckpointer.load` only logs these, so the
    private `_load_file` / `_load_model` pair is used."""
    from detectron2.checkpoint import DetectionCheckpointer
    ck = DetectionCheckpointer(model)
    if not (hasattr(ck, "_load_file") and hasattr(ck, "_load_model")):
        raise _missing("DetectionCheckpointer._load_file/_load_model")
    return ck._load_model(ck._load_file(weights))


def last_eval_results(trainer: Any) -> dict[str, Any] | None:
    """The results of the EvalHook's last evaluation (DefaultTrainer keeps them privately); None when
    no evaluation ran during training."""
    from detectron2.engine import DefaultTrainer
    if not isinstance(trainer, DefaultTrainer):
        raise _missing("DefaultTrainer")
    return getattr(trainer, "_last_eval_results", None)


def register_res5_extra_norm() -> None:
    """Register `Res5ROIHeadsExtraNorm` (idempotent): the C4 RoI head (res5 on pooled res4 features)
    with one norm layer appended to res5, as MoCo's and PixPro's transfer code define it
    (facebookresearch/moco detection/train_net.py, zdaxie/PixPro transfer/detection/train_net.py; named
    by their Base-RCNN-C4-BN.yaml): without it the res5 output of a SyncBN backbone reaches the box
    predictor un-normalised. The norm (type RESNETS.NORM) is new, in no checkpoint. Overrides the
    private classmethod Res5ROIHeads._build_res5_block, as those repositories do.
    DenseBench extension (for the ResNet-18 `mini` protocols): with RESNETS.DEPTH 18 or 34, res5 is
    built from BasicBlocks (2 or 3, as that ResNet's own res5) instead of Detectron2's fixed three
    BottleneckBlocks, so the checkpoint's res5 loads into it; R50 and deeper are Detectron2's own."""
    from torch import nn
    from detectron2.layers import get_norm
    from detectron2.modeling import ROI_HEADS_REGISTRY
    from detectron2.modeling.backbone.resnet import BasicBlock, ResNet
    from detectron2.modeling.roi_heads import Res5ROIHeads
    if "Res5ROIHeadsExtraNorm" in ROI_HEADS_REGISTRY:
        return
    if not hasattr(Res5ROIHeads, "_build_res5_block"):
        raise _missing("Res5ROIHeads._build_res5_block")

    class Res5ROIHeadsExtraNorm(Res5ROIHeads):
        @classmethod
        def _build_res5_block(cls, cfg):  # noqa: ANN001, ANN206 (Detectron2's signature)
            r = cfg.MODEL.RESNETS
            if r.DEPTH in (18, 34):
                out_channels, n = r.RES2_OUT_CHANNELS * 8, {18: 2, 34: 3}[r.DEPTH]
                seq = nn.Sequential(*ResNet.make_stage(BasicBlock, n, stride_per_block=[2] + [1] * (n - 1),
                                                       in_channels=out_channels // 2, out_channels=out_channels,
                                                       norm=r.NORM))
            else:
                seq, out_channels = super()._build_res5_block(cfg)
            seq.add_module("norm", get_norm(r.NORM, out_channels))
            return seq, out_channels

    ROI_HEADS_REGISTRY.register(Res5ROIHeadsExtraNorm)


def has_compiled_ops() -> bool:
    """Whether Detectron2's compiled `_C` is present (official build) or the pure-Python build runs."""
    try:
        from detectron2 import _C  # noqa: F401
        return True
    except ImportError:
        return False


def coco_eval_backend() -> str:
    """Which COCOeval runs the COCO evaluation: Detectron2's compiled one where built with its ops,
    else faster-coco-eval where installed (a C++ COCOeval, the same numbers: tests/benchmarks/
    test_coco_eval_backend.py), else pycocotools (pure Python, minutes at COCO val scale)."""
    if has_compiled_ops():
        return "detectron2-compiled"
    try:
        import faster_coco_eval  # noqa: F401
        return "faster-coco-eval"
    except ImportError:
        return "pycocotools"


@contextlib.contextmanager
def use_coco_eval(backend: str) -> Iterator[None]:
    """Within the block, COCOEvaluator(use_fast_impl=False) evaluates with `backend`'s COCOeval
    (faster-coco-eval's COCOeval_faster, or pycocotools'): Detectron2 v0.6 reads the module-level
    name `COCOeval` of detectron2.evaluation.coco_evaluation, which is swapped and restored."""
    from detectron2.evaluation import coco_evaluation
    if not hasattr(coco_evaluation, "COCOeval"):
        raise _missing("detectron2.evaluation.coco_evaluation.COCOeval")
    if backend != "faster-coco-eval":
        yield
        return
    from faster_coco_eval import COCOeval_faster
    old = coco_evaluation.COCOeval
    coco_evaluation.COCOeval = COCOeval_faster
    try:
        yield
    finally:
        coco_evaluation.COCOeval = old
