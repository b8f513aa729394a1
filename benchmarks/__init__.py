"""Downstream tasks. Importing this package registers the built-ins in harness.registry.TASKS.

Framework imports (Detectron2, mmsegmentation) happen inside each task's functions, so listing
tasks (`bench ls`) works even where a framework is missing; `bench doctor` says what is installed.
"""
from benchmarks import davis_vos, detectron2_det, mmseg_seg, retrieval  # noqa: F401  (registers the tasks)
