"""Detectron2 detection tasks, one class for all: `coco_det` (Mask R-CNN R50-FPN on COCO),
`coco_det_c4` (Mask R-CNN R50-C4 on COCO), `voc_det` (Faster R-CNN R50-C4 on VOC07+12 -> VOC07
test). The protocol says which data layout (`dataset.layout`: coco | voc_det) and evaluator
(`evaluator`: coco | voc) a task uses.

Flow of one run: canonical checkpoint -> Detectron2 weights pickle (harness.convert) -> strict load
check (every converted tensor lands in the model, and every model tensor that has a counterpart in
the checkpoint is loaded from it: the C4 head's res5 included) -> DefaultTrainer with the protocol's
config -> COCOEvaluator (pycocotools, or faster-coco-eval where installed) or
PascalVOCDetectionEvaluator on the test split -> metrics. Detectron2's private calls are in
benchmarks.d2_adapter (also the C4 head with the extra norm, Res5ROIHeadsExtraNorm).
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

import torch

from benchmarks import d2_adapter
from benchmarks.d2_adapter import has_compiled_ops
from benchmarks.protocol_schemas import DetectionDataset, Detectron2Protocol
from harness.api import RunContext, Task, TaskResult
from harness.files import atomic_write_text
from harness.schema import stable_hash
from harness.convert import write_detectron2
from harness.data.coco import coco_paths, validate_coco
from harness.errors import BenchError


def register_coco(root: Path, split: str) -> tuple[str, int]:
    """Register <root>'s COCO split with Detectron2 once; returns (dataset name, number of classes)."""
    from detectron2.data import DatasetCatalog, MetadataCatalog
    from detectron2.data.datasets import register_coco_instances
    data = validate_coco(root, split)
    images, ann = coco_paths(root, split)
    name = f"densebench_coco_{split}_{stable_hash(str(root.resolve()), 10)}"
    if name not in DatasetCatalog.list():
        register_coco_instances(name, {}, str(ann), str(images))
    MetadataCatalog.get(name)  # created by register_coco_instances
    return name, len(data["categories"])


def voc_classes(ds: DetectionDataset) -> tuple[str, ...]:
    """The class names of a VOC detection protocol: `dataset.classes` (a list), or 'voc' (or none) for the 20."""
    from harness.data.vocdet import VOC_CLASSES
    return VOC_CLASSES if ds.classes in (None, "voc") else tuple(ds.classes)


def register_voc(root: Path, split: str, classes: tuple[str, ...]) -> tuple[list[str], int]:
    """Register a VOC detection split (VOC2007/2012 parts, harness.data.vocdet) once per process."""
    from detectron2.data import DatasetCatalog
    from detectron2.data.datasets import register_pascal_voc
    from harness.data import require_valid, vocdet
    require_valid("voc_det", root, split)
    if classes != vocdet.VOC_CLASSES:  # a protocol's own class list: every object must be in it
        bad = vocdet.problems(root, split, classes)
        if bad:
            raise BenchError(bad[0])
    names = []
    for base, image_set, year in vocdet.split_parts(root, split):
        name = f"densebench_voc{year}_{image_set}_{stable_hash([str(base.resolve()), classes], 10)}"
        if name not in DatasetCatalog.list():
            register_pascal_voc(name, str(base), image_set, year, list(classes))
        names.append(name)
    return names, len(classes)


def register(ds: DetectionDataset, root: Path, split: str) -> tuple[list[str], int]:
    """Register a protocol's data split with Detectron2: (dataset names, number of classes)."""
    if ds.layout == "voc_det":
        return register_voc(root, split, voc_classes(ds))
    name, ncls = register_coco(root, split)
    return [name], ncls


def build_cfg(p: Detectron2Protocol, train_name: str | list[str], test_name: str | list[str], weights: str,
              out_dir: Path | str, seed: int, device: str):
    """The Detectron2 CfgNode of a resolved protocol (`paper` or `mini`): the model-zoo `base` file,
    then the protocol's `detectron2` overrides, then the run's data, weights, device and seed."""
    from detectron2 import model_zoo
    from detectron2.config import CfgNode, get_cfg
    d2_adapter.register_res5_extra_norm()
    cfg = get_cfg()
    cfg.merge_from_file(model_zoo.get_config_file(p.base))
    cfg.merge_from_other_cfg(CfgNode(p.detectron2))
    as_tuple = lambda n: tuple(n) if isinstance(n, (list, tuple)) else (n,)  # noqa: E731
    cfg.DATASETS.TRAIN, cfg.DATASETS.TEST = as_tuple(train_name), as_tuple(test_name)
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = p.dataset.num_classes  # checked against the data set
    cfg.MODEL.WEIGHTS = weights
    cfg.MODEL.DEVICE = device
    cfg.OUTPUT_DIR = str(out_dir)
    cfg.SEED = seed
    cfg.freeze()
    return cfg


RESNET_PARTS = ("stem", "res2", "res3", "res4", "res5")


def from_checkpoint(key: str) -> bool:
    """Whether a Detectron2 model tensor is one a canonical checkpoint fills: the ResNet's (FPN models:
    backbone.bottom_up.*; C4 models: backbone.* and the RoI head's res5, except its extra norm)."""
    k = key.removeprefix("backbone.bottom_up.").removeprefix("backbone.").removeprefix("roi_heads.")
    return k.split(".")[0] in RESNET_PARTS and not k.startswith("res5.norm.")


def check_strict_load(model: torch.nn.Module, weights: str) -> dict[str, Any]:
    """Load `weights` into model; fail unless every tensor of the file was used and every ResNet tensor
    of the model (from_checkpoint: in C4 models the RoI head's res5 too) came from it."""
    inc = d2_adapter.load_and_report(model, weights)  # missing / unexpected / wrong-shape keys
    missing = [k for k in inc.missing_keys if from_checkpoint(k)]
    if missing or inc.unexpected_keys or inc.incorrect_shapes:
        raise BenchError(f"{weights}: backbone load is not exact: missing {missing[:4]}, "
                         f"unexpected {list(inc.unexpected_keys)[:4]}, wrong shapes {inc.incorrect_shapes[:4]}")
    # FPN, RPN and RoI heads are new in every protocol; in C4 models so is res5's extra norm
    fresh = sorted({".".join(k.split(".")[:3 if ".res5." in k else 2]) for k in inc.missing_keys})
    return {"initialised_from_scratch": fresh}


def _progress_hook():
    from detectron2.engine import HookBase
    from tqdm import tqdm

    class Progress(HookBase):
        """A tqdm bar on stderr with the total loss (Detectron2 logs go to log.txt)."""

        def before_train(self) -> None:
            self.bar = tqdm(total=self.trainer.max_iter, desc="finetune", file=sys.stderr, dynamic_ncols=True)

        def after_step(self) -> None:
            hist = self.trainer.storage.histories().get("total_loss")
            if hist is not None:
                self.bar.set_postfix(loss=f"{hist.latest():.3f}")
            self.bar.update(1)

        def after_train(self) -> None:
            self.bar.close()
    return Progress()


def _evaluator(kind: str, dataset_name: str, out_dir: str):
    """The protocol's evaluator: COCOEvaluator (box + mask AP) or PascalVOCDetectionEvaluator (box AP,
    AP50, AP75; VOC2007's 11-point metric on VOC2007 test, as Detectron2 and the papers use it)."""
    if kind == "voc":
        from detectron2.evaluation import PascalVOCDetectionEvaluator
        return PascalVOCDetectionEvaluator(dataset_name)
    from detectron2.evaluation import COCOEvaluator
    return COCOEvaluator(dataset_name, output_dir=os.path.join(out_dir, "inference"), use_fast_impl=has_compiled_ops())


def _train_and_eval(cfg, out_dir: str, ds: DetectionDataset, data: list[tuple[str, str]], evaluator: str) -> None:
    """Runs in every Detectron2 process (detectron2.engine.launch); rank 0 writes metrics.json.
    data: (root, split) pairs of the protocol's dataset `ds` to register in this process."""
    from detectron2.engine import DefaultTrainer
    from detectron2.utils import comm
    from detectron2.utils.env import seed_all_rng
    from detectron2.utils.logger import setup_logger
    logger = setup_logger(output=out_dir, distributed_rank=comm.get_rank(), name="detectron2")
    for h in logger.handlers:  # full log in <out_dir>/log.txt; the console shows warnings and a bar
        if type(h) is logging.StreamHandler:
            h.setLevel(logging.WARNING)
    for root, split in data:
        register(ds, Path(root), split)
    # Detectron2 seeds only in default_setup(), which this path does not call: without this its
    # TrainingSampler shuffles with a fresh random seed and the heads start from an unseeded init,
    # so cfg.SEED (the record's seed) would not determine the run.
    seed_all_rng(cfg.SEED + comm.get_rank())

    class Trainer(DefaultTrainer):
        @classmethod
        def build_evaluator(cls, cfg, dataset_name, output_folder=None):  # noqa: ANN001
            return _evaluator(evaluator, dataset_name, cfg.OUTPUT_DIR)

    trainer = Trainer(cfg)
    load_info = check_strict_load(trainer.model, cfg.MODEL.WEIGHTS)
    trainer.start_iter = 0
    if comm.is_main_process():
        trainer.register_hooks([_progress_hook()])
    # pycocotools prints its summaries to stdout: keep them in the run directory, not the console
    with open(os.path.join(out_dir, "stdout.txt"), "a") as log, contextlib.redirect_stdout(log), \
            d2_adapter.use_coco_eval(d2_adapter.coco_eval_backend()):
        trainer.train()
        res = d2_adapter.last_eval_results(trainer)
        if comm.is_main_process() and not res:
            res = Trainer.test(cfg, trainer.model)
    if comm.is_main_process():
        # COCOeval reports NaN where a size range has no objects: stored as null
        metrics = {f"{kind}/{k}": (None if math.isnan(v) else float(v))
                   for kind in ("bbox", "segm") for k, v in res.get(kind, {}).items()}
        atomic_write_text(Path(out_dir, "metrics.json"), json.dumps({"metrics": metrics, "load": load_info}))


class Detectron2Det(Task):
    """coco_det, coco_det_c4, voc_det: the protocol file says model, data and evaluator."""

    def run(self, ctx: RunContext) -> TaskResult:
        from detectron2.engine import launch
        p = ctx.settings  # a Detectron2Protocol
        ds = p.dataset
        ngpu = torch.cuda.device_count()
        weights = ctx.out_dir / "backbone_d2.pkl"
        probe = build_cfg(p, "<train>", "<test>", str(weights), ctx.out_dir, ctx.seed, "cpu")
        ctx.require_depth(probe.MODEL.RESNETS.DEPTH)  # before any data is made or converted
        root = ctx.data(ds.layout, ds.synth)
        train_names, ncls = register(ds, root, ds.train)
        test_names, _ = register(ds, root, ds.test)
        if ncls != ds.num_classes:
            raise BenchError(f"{root}: {ncls} classes in its {ds.train} split; protocol "
                             f"{ctx.protocol.full_id} ({ctx.scale}) expects dataset.num_classes {ds.num_classes}")
        data = [(str(root), ds.train), (str(root), ds.test)]
        report = write_detectron2(ctx.checkpoint.state, weights)
        cfg = build_cfg(p, train_names, test_names, str(weights), ctx.out_dir, ctx.seed, "cuda" if ngpu else "cpu")
        (ctx.out_dir / "config.yaml").write_text(cfg.dump())
        args = (cfg, str(ctx.out_dir), ds, data, p.evaluator)
        if ngpu > 1:
            launch(_train_and_eval, ngpu, dist_url="auto", args=args)
        else:
            _train_and_eval(*args)
        res = json.loads((ctx.out_dir / "metrics.json").read_text())
        return TaskResult(res["metrics"], cfg.dump(),
                          notes={"conversion": report.summary(), **res["load"],
                                 "detectron2_compiled_ops": has_compiled_ops(),
                                 **({"coco_eval_backend": d2_adapter.coco_eval_backend()}
                                    if p.evaluator == "coco" else {})},
                          artefacts={"config": "config.yaml", "log": "log.txt", "weights": "backbone_d2.pkl"})

    def framework_config(self, settings: Any, scale: str) -> str:
        """The CfgNode Detectron2 receives, data set names, weights and output folder as placeholders."""
        return build_cfg(settings, "<train split>", "<test split>", "<checkpoint converted to Detectron2>.pkl",
                         "<run folder>", 0, "cuda").dump()
