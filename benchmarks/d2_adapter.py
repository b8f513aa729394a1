"""Every private Detectron2 API DenseBench calls, behind one door.

Written against Detectron2 v0.6 (facebookresearch/detectron2 tag v0.6, commit d1e04565; the
`pb1-detectron2==0.6` sdist carries the same files). If a later Detectron2 renames one of these,
the error says which call and which version it was written against, instead of an AttributeError
deep inside a run.
"""
from __future__ import annotations

from typing import Any

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
