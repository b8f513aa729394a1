"""mmengine config of a segmentation protocol: everything that changes a number comes from the
protocol file (model, data pre-processor with its normalisation, train/test pipelines, schedule);
this module only places the values where mmengine expects them.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

from benchmarks.protocol_schemas import MMSegProtocol
from harness.data.voc import VOC_SPLITS
from harness.errors import BenchError

# mmseg dataset class and folders per layout and split; a VOC split is one dataset per (list, label
# folder) part of harness.data.voc.VOC_SPLITS (train+aug: mmseg's pascal_voc12_aug.py ConcatDataset)
DATASETS = {
    "voc": {"type": "PascalVOCDataset",
            **{split: [{"img_path": "JPEGImages", "seg_map_path": labels, "ann_file": f"ImageSets/Segmentation/{name}.txt"}
                       for name, labels in parts] for split, parts in VOC_SPLITS.items()}},
    "cityscapes": {"type": "CityscapesDataset",
                   "train": {"img_path": "leftImg8bit/train", "seg_map_path": "gtFine/train"},
                   "val": {"img_path": "leftImg8bit/val", "seg_map_path": "gtFine/val"}},
    "ade20k": {"type": "ADE20KDataset",
               "train": {"img_path": "images/training", "seg_map_path": "annotations/training"},
               "val": {"img_path": "images/validation", "seg_map_path": "annotations/validation"}},
}


def check_aspp_reach(p: MMSegProtocol) -> None:
    """Refuse an ASPP head whose dilation reaches past the feature map of a training crop.

    A 3x3 tap at dilation d >= the map side lies entirely in the zero padding, so that branch
    silently degenerates into a 1x1 convolution (e.g. the paper's 12/24/36 on a 96 px crop at
    output stride 8: a 12x12 map). The side is crop / (4 * product of the backbone's stage strides).
    """
    head, bb = p.model.get("decode_head", {}), p.model["backbone"]
    if head.get("type") != "ASPPHead":
        return
    stride = 4 * math.prod(bb.get("strides", (1, 2, 2, 2)))
    side = min(p.crop) // stride
    if max(head["dilations"]) >= side:
        raise BenchError(f"protocol model.decode_head.dilations {list(head['dilations'])}: expected every dilation "
                         f"< {side}, the feature map side of a {min(p.crop)} px crop at output stride {stride}")


def check_pipeline(p: MMSegProtocol) -> None:
    """The train pipeline's RandomCrop must cut the protocol's `crop` (the data pre-processor pads to it)."""
    for step in p.train_pipeline:
        if step.get("type") == "RandomCrop" and list(step["crop_size"]) != list(p.crop):
            raise BenchError(f"protocol train_pipeline RandomCrop crop_size {list(step['crop_size'])}: expected "
                             f"the protocol's crop {list(p.crop)}")
    scale = p.data_preprocessor.stats_scale
    if scale not in (1, 255):
        raise BenchError(f"protocol data_preprocessor.stats_scale {scale!r}: expected 255 (mean/std on the pixels' "
                         "0-255 scale) or 1 (0-1 statistics applied to 0-255 pixels, as some published configs do)")


def _transform(step: dict[str, Any]) -> dict[str, Any]:
    """A pipeline step with YAML lists as tuples (mmcv's transforms assert tuples for sizes)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in step.items()}


def per_process_batch(p: MMSegProtocol, world_size: int) -> int:
    """The protocol's `schedule.batch_size` is the global batch (what the papers state: 8 GPUs x 2);
    mmengine's `train_dataloader.batch_size` is per process: global / world size, which must divide it."""
    batch = p.schedule.batch_size
    if world_size < 1 or batch % world_size:
        raise BenchError(f"protocol schedule.batch_size {batch} (the global batch): not divisible by the world size "
                         f"{world_size}; run on a number of processes that divides it")
    return batch // world_size


def build_config(p: MMSegProtocol, root: Path | str, weights: str | None, out_dir: Path | str,
                 seed: int, device: str = "cpu", world_size: int = 1) -> dict[str, Any]:
    """The mmengine config dict of a resolved protocol (`paper` or `mini`) for `world_size` processes
    (the train loader's batch is the protocol's global batch divided among them)."""
    check_aspp_reach(p)
    check_pipeline(p)
    ds, sched = p.dataset, p.schedule
    batch = per_process_batch(p, world_size)
    kind = DATASETS[ds.layout]
    reduce_zero = ds.reduce_zero_label

    def dataset(part: dict[str, str], pipeline: list) -> dict[str, Any]:
        prefix = {k: v for k, v in part.items() if k != "ann_file"}
        d = {"type": kind["type"], "data_root": str(root), "data_prefix": prefix, "pipeline": pipeline}
        if "ann_file" in part:
            d["ann_file"] = part["ann_file"]
        if reduce_zero:
            d["reduce_zero_label"] = True
        return d

    def loader(split: str, pipeline: list, batch: int, train: bool) -> dict[str, Any]:
        if split not in kind:
            raise BenchError(f"protocol dataset split '{split}' is not one of {ds.layout}'s "
                             f"({', '.join(k for k in kind if k != 'type')})")
        parts = kind[split] if isinstance(kind[split], list) else [kind[split]]
        d = (dataset(parts[0], pipeline) if len(parts) == 1 else
             {"type": "ConcatDataset", "datasets": [dataset(part, pipeline) for part in parts]})
        return {"batch_size": batch, "num_workers": sched.workers, "persistent_workers": False,
                "sampler": {"type": "InfiniteSampler" if train else "DefaultSampler", "shuffle": train},
                "dataset": d}

    crop = tuple(p.crop)
    pre = p.data_preprocessor  # stats_scale is DenseBench's own (checked above), not mmseg's
    model = copy.deepcopy(p.model)
    model["data_preprocessor"] = {"type": "SegDataPreProcessor", "mean": list(pre.mean), "std": list(pre.std),
                                  "bgr_to_rgb": pre.bgr_to_rgb, "pad_val": pre.pad_val,
                                  "seg_pad_val": pre.seg_pad_val, "size": crop}
    model["backbone"]["init_cfg"] = None  # weights come from StrictBackboneLoad, checked key by key
    if device != "cuda":
        model = syncbn_to_bn(model)  # torch's SyncBN is CUDA-only: CPU runs use BN (named deviation)
    iters = sched.iters
    return {
        "model": model, "work_dir": str(out_dir),
        "train_dataloader": loader(ds.train, [_transform(s) for s in p.train_pipeline], batch, True),
        "val_dataloader": loader(ds.test, [_transform(s) for s in p.test_pipeline], 1, False),
        "val_evaluator": {"type": "DenseBenchIoUMetric", "iou_metrics": ["mIoU"]},
        "train_cfg": {"type": "IterBasedTrainLoop", "max_iters": iters, "val_interval": iters + 1},
        "val_cfg": {"type": "ValLoop"},
        "optim_wrapper": {"type": "OptimWrapper", "optimizer": dict(sched.optimizer), "clip_grad": None},
        "param_scheduler": [dict(s) for s in sched.lr],
        "default_hooks": {"timer": {"type": "IterTimerHook"},
                          "logger": {"type": "LoggerHook", "interval": sched.log_interval, "log_metric_by_epoch": False},
                          "param_scheduler": {"type": "ParamSchedulerHook"}, "checkpoint": None,
                          "sampler_seed": {"type": "DistSamplerSeedHook"}},
        "custom_hooks": [{"type": "StrictBackboneLoad", "weights": weights, "frozen": p.frozen},
                         {"type": "ProgressBar"}],
        "randomness": {"seed": seed, "deterministic": False},
        "env_cfg": {"cudnn_benchmark": False, "dist_cfg": {"backend": "nccl" if device == "cuda" else "gloo"}},
        "log_level": "WARNING", "default_scope": "mmseg",
    }


def syncbn_to_bn(node: Any) -> Any:
    """Replace every norm_cfg type SyncBN by BN in a config tree."""
    if isinstance(node, dict):
        return {k: ({**v, "type": "BN"} if k == "norm_cfg" and isinstance(v, dict) and v.get("type") == "SyncBN"
                    else syncbn_to_bn(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [syncbn_to_bn(v) for v in node]
    return node
