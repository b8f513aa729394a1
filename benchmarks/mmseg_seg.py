"""mmsegmentation tasks: FCN on VOC / Cityscapes / ADE20K and the frozen-feature ASPP probe.

Flow of one run: canonical checkpoint -> mmseg ResNet weights (harness.convert.write_mmseg) ->
mmengine Runner built from the protocol's config (model, pipelines, schedule: data in the YAML) ->
the backbone is loaded *strictly* just before the first iteration (after mmengine's own weight
init, which would otherwise overwrite it) -> train -> IoUMetric on the val split -> mIoU, aAcc,
mAcc and per-class IoU. The frozen probe additionally checks the backbone is bit-identical at the end.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import torch

from benchmarks.base import Protocol, Task
from harness.checkpoint import load_canonical
from harness.config import atomic_write_text, deep_merge
from harness.convert import write_mmseg
from harness.data import dataset_root
from harness.data.seg import validate_seg
from harness.errors import BenchError
from harness.registry import TASKS

DEPTH = {"resnet18": 18, "resnet34": 34, "resnet50": 50, "resnet101": 101}
# mmseg dataset class and folders per layout and split
DATASETS = {
    "voc": {"type": "PascalVOCDataset",
            "train": {"img_path": "JPEGImages", "seg_map_path": "SegmentationClass", "ann_file": "ImageSets/Segmentation/train.txt"},
            "trainaug": {"img_path": "JPEGImages", "seg_map_path": "SegmentationClassAug", "ann_file": "ImageSets/Segmentation/trainaug.txt"},
            "val": {"img_path": "JPEGImages", "seg_map_path": "SegmentationClass", "ann_file": "ImageSets/Segmentation/val.txt"}},
    "cityscapes": {"type": "CityscapesDataset",
                   "train": {"img_path": "leftImg8bit/train", "seg_map_path": "gtFine/train"},
                   "val": {"img_path": "leftImg8bit/val", "seg_map_path": "gtFine/val"}},
    "ade20k": {"type": "ADE20KDataset",
               "train": {"img_path": "images/training", "seg_map_path": "annotations/training"},
               "val": {"img_path": "images/validation", "seg_map_path": "annotations/validation"}},
}


def _backbone_digest(module: torch.nn.Module) -> str:
    """sha256 over the backbone's parameters and buffers (BN statistics included)."""
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode() + v.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def check_aspp_reach(spec: dict[str, Any]) -> None:
    """Refuse an ASPP head whose dilation reaches past the feature map of a training crop.

    A 3x3 tap at dilation d >= the map side lies entirely in the zero padding, so that branch
    silently degenerates into a 1x1 convolution (e.g. the paper's 12/24/36 on a 96 px crop at
    output stride 8: a 12x12 map). The side is crop / (4 * product of the backbone's stage strides).
    """
    head, bb = spec["model"].get("decode_head", {}), spec["model"]["backbone"]
    if head.get("type") != "ASPPHead":
        return
    stride = 4 * math.prod(bb.get("strides", (1, 2, 2, 2)))
    side = min(spec["crop"]) // stride
    if max(head["dilations"]) >= side:
        raise BenchError(f"protocol model.decode_head.dilations {list(head['dilations'])}: expected every dilation "
                         f"< {side}, the feature map side of a {min(spec['crop'])} px crop at output stride {stride}")


def build_config(spec: dict[str, Any], root: Path, weights: str | None, out_dir: Path, seed: int) -> dict[str, Any]:
    """The mmengine config dict of a resolved protocol (`paper` or `mini`)."""
    check_aspp_reach(spec)
    ds, sched = spec["dataset"], spec["schedule"]
    kind = DATASETS[ds["layout"]]
    reduce_zero = bool(ds.get("reduce_zero_label", False))

    def loader(split: str, pipeline: list, batch: int, train: bool) -> dict[str, Any]:
        prefix = {k: v for k, v in kind[split].items() if k != "ann_file"}
        d = {"type": kind["type"], "data_root": str(root), "data_prefix": prefix, "pipeline": pipeline}
        if "ann_file" in kind[split]:
            d["ann_file"] = kind[split]["ann_file"]
        if reduce_zero:
            d["reduce_zero_label"] = True
        return {"batch_size": batch, "num_workers": sched.get("workers", 2), "persistent_workers": False,
                "sampler": {"type": "InfiniteSampler" if train else "DefaultSampler", "shuffle": train},
                "dataset": d}

    crop = tuple(spec["crop"])
    train_pipeline = [
        {"type": "LoadImageFromFile"}, {"type": "LoadAnnotations"},  # reduce_zero_label comes from the dataset
        {"type": "RandomResize", "scale": tuple(spec["scale"]), "ratio_range": (0.5, 2.0), "keep_ratio": True},
        {"type": "RandomCrop", "crop_size": crop, "cat_max_ratio": 0.75}, {"type": "RandomFlip", "prob": 0.5},
        {"type": "PhotoMetricDistortion"}, {"type": "PackSegInputs"}]
    test_pipeline = [
        {"type": "LoadImageFromFile"}, {"type": "Resize", "scale": tuple(spec["scale"]), "keep_ratio": True},
        {"type": "LoadAnnotations"}, {"type": "PackSegInputs"}]
    model = copy.deepcopy(spec["model"])
    model["data_preprocessor"] = {"type": "SegDataPreProcessor", **spec["normalize"], "bgr_to_rgb": True,
                                  "pad_val": 0, "seg_pad_val": 255, "size": crop}
    model["backbone"]["init_cfg"] = None  # weights come from StrictBackboneLoad, checked key by key
    iters = sched["iters"]
    return {
        "model": model, "work_dir": str(out_dir),
        "train_dataloader": loader(ds["train"], train_pipeline, sched["batch_size"], True),
        "val_dataloader": loader(ds["test"], test_pipeline, 1, False),
        "val_evaluator": {"type": "DenseBenchIoUMetric", "iou_metrics": ["mIoU"]},
        "train_cfg": {"type": "IterBasedTrainLoop", "max_iters": iters, "val_interval": iters + 1},
        "val_cfg": {"type": "ValLoop"},
        "optim_wrapper": {"type": "OptimWrapper", "optimizer": dict(sched["optimizer"]), "clip_grad": None},
        "param_scheduler": sched["lr"],
        "default_hooks": {"timer": {"type": "IterTimerHook"},
                          "logger": {"type": "LoggerHook", "interval": sched.get("log_interval", 50), "log_metric_by_epoch": False},
                          "param_scheduler": {"type": "ParamSchedulerHook"}, "checkpoint": None,
                          "sampler_seed": {"type": "DistSamplerSeedHook"}},
        "custom_hooks": [{"type": "StrictBackboneLoad", "weights": weights, "frozen": bool(spec.get("frozen"))},
                         {"type": "ProgressBar"}],
        "randomness": {"seed": seed, "deterministic": False},
        "env_cfg": {"cudnn_benchmark": False, "dist_cfg": {"backend": "nccl" if torch.cuda.is_available() else "gloo"}},
        "log_level": "WARNING", "default_scope": "mmseg",
    }


def _register_once() -> None:
    """Register DenseBench's hook and metric with mmengine/mmseg (idempotent)."""
    from benchmarks.mm_compat import mmcv_ops_kind
    mmcv_ops_kind()
    import mmseg.datasets  # noqa: F401  (registers datasets and transforms)
    import mmseg.models  # noqa: F401
    from mmengine.hooks import Hook
    from mmseg.evaluation import IoUMetric
    from mmseg.registry import HOOKS, METRICS
    if "StrictBackboneLoad" in HOOKS.module_dict:
        return

    @HOOKS.register_module()
    class StrictBackboneLoad(Hook):
        """Load the converted backbone strictly before the first iteration; for a frozen probe,
        record the backbone digest and check it is unchanged after training."""
        priority = "VERY_HIGH"

        def __init__(self, weights: str | None, frozen: bool = False) -> None:
            self.weights, self.frozen, self.digest = weights, frozen, None

        def _backbone(self, runner) -> torch.nn.Module:  # noqa: ANN001
            model = runner.model.module if hasattr(runner.model, "module") else runner.model
            return model.backbone

        def before_train(self, runner) -> None:  # noqa: ANN001
            bb = self._backbone(runner)
            if self.weights:
                state = torch.load(self.weights, map_location="cpu", weights_only=True)["state_dict"]
                res = bb.load_state_dict(state, strict=False)
                missing = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
                if missing or res.unexpected_keys:
                    raise BenchError(f"{self.weights}: backbone load is not exact: missing {missing[:4]}, "
                                     f"unexpected {res.unexpected_keys[:4]}")
            self.digest = _backbone_digest(bb)

        def after_train(self, runner) -> None:  # noqa: ANN001
            after = _backbone_digest(self._backbone(runner))
            runner.message_hub.update_info("backbone_unchanged", after == self.digest)
            if self.frozen and after != self.digest:
                raise BenchError("frozen-backbone protocol: backbone weights or BN statistics changed in training")

    @HOOKS.register_module()
    class ProgressBar(Hook):
        """A tqdm bar on stderr with the loss (mmengine's own log goes to the run directory)."""
        priority = "LOW"

        def before_train(self, runner) -> None:  # noqa: ANN001
            import sys
            from tqdm import tqdm
            self.bar = tqdm(total=runner.max_iters, desc="finetune", file=sys.stderr, dynamic_ncols=True)

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:  # noqa: ANN001
            if outputs and "loss" in outputs:
                self.bar.set_postfix(loss=f"{outputs['loss'].item():.3f}")
            self.bar.update(1)

        def after_train(self, runner) -> None:  # noqa: ANN001
            self.bar.close()

    @METRICS.register_module()
    class DenseBenchIoUMetric(IoUMetric):
        """mmseg's IoUMetric, plus per-class IoU in the returned metrics (IoU.<class>, percent)."""

        def compute_metrics(self, results: list) -> dict[str, float]:
            out = super().compute_metrics(results)
            per = IoUMetric.total_area_to_metrics(*[sum(r[i] for r in results) for i in range(4)], ["mIoU"])
            for name, iou in zip(self.dataset_meta["classes"], per["IoU"]):
                # a class absent from both ground truth and prediction has no IoU (NaN): stored as null
                out[f"IoU.{name}"] = None if iou != iou else round(float(iou) * 100, 2)
            return out


class MMSegTask(Task):
    metrics = ("mIoU", "aAcc", "mAcc")

    def evaluate(self, checkpoint: Path, protocol: Protocol, profile: str, seed: int, out_dir: Path,
                 data_root: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
        spec = deep_merge(protocol.resolved(profile), overrides)
        ds = spec["dataset"]
        root = dataset_root(ds["layout"], profile, data_root, ds.get("synth"))
        validate_seg(ds["layout"], root, ds["train"])
        validate_seg(ds["layout"], root, ds["test"])
        state, meta = load_canonical(checkpoint)
        depth = spec["model"]["backbone"]["depth"]
        if DEPTH[meta["arch"]] != depth:
            raise BenchError(f"{checkpoint}: a {meta['arch']} backbone cannot run protocol {protocol.full_id} "
                             f"({profile}), which builds ResNet-{depth}")
        weights = out_dir / "backbone_mmseg.pth"
        report = write_mmseg(state, weights)
        _register_once()
        from mmengine.config import Config
        from mmengine.runner import Runner
        d = build_config(spec, root, str(weights), out_dir, seed)
        if not torch.cuda.is_available():
            d["model"] = _syncbn_to_bn(d["model"])  # torch's SyncBN is CUDA-only: CPU runs use BN
        d["launcher"] = "pytorch" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "none"
        cfg = Config(d)
        cfg.dump(str(out_dir / "config.py"))
        logging.getLogger("mmengine").setLevel(logging.WARNING)
        import warnings
        with warnings.catch_warnings():  # mmseg warns on every odd-sized resize with align_corners
            warnings.filterwarnings("ignore", message="When align_corners=True")
            runner = Runner.from_cfg(cfg)
            runner.train()
            metrics = runner.val()
        unchanged = runner.message_hub.get_info("backbone_unchanged")
        metrics = {k: None if v is None else round(float(v), 2) for k, v in metrics.items()}  # numpy -> JSON
        atomic_write_text(out_dir / "metrics.json", json.dumps(metrics))
        from benchmarks.mm_compat import mmcv_ops_kind
        return {"metrics": metrics, "config": cfg.pretty_text,
                "notes": {"conversion": report.summary(), "mmcv_ops": mmcv_ops_kind(),
                          "backbone_unchanged_by_training": unchanged}}


def _syncbn_to_bn(node: Any) -> Any:
    """Replace every norm_cfg type SyncBN by BN in a config tree."""
    if isinstance(node, dict):
        return {k: ({**v, "type": "BN"} if k == "norm_cfg" and isinstance(v, dict) and v.get("type") == "SyncBN"
                    else _syncbn_to_bn(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_syncbn_to_bn(v) for v in node]
    return node


@TASKS.register("voc_seg")
class VocSeg(MMSegTask):
    name = "voc_seg"
    description = "mmseg FCN on Pascal VOC 2012 (train_aug -> val): mIoU, aAcc, mAcc, per-class IoU"


@TASKS.register("cityscapes_seg")
class CityscapesSeg(MMSegTask):
    name = "cityscapes_seg"
    description = "mmseg FCN on Cityscapes (train -> val, 19 classes): mIoU, aAcc, mAcc, per-class IoU"


@TASKS.register("ade_seg")
class AdeSeg(MMSegTask):
    name = "ade_seg"
    description = "mmseg FCN on ADE20K (150 classes): mIoU, aAcc, mAcc, per-class IoU"


@TASKS.register("voc_aspp_frozen")
class VocAsppFrozen(MMSegTask):
    name = "voc_aspp_frozen"
    description = "frozen backbone, DeepLabV3 ASPP head on VOC train_aug -> val (Zhang & Maire probe): mIoU"
