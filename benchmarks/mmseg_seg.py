"""mmsegmentation tasks: FCN on VOC / Cityscapes / ADE20K and the frozen-feature ASPP probe.

Flow of one run: canonical checkpoint -> mmseg ResNet weights (harness.convert.write_mmseg) ->
mmengine Runner built from the protocol (benchmarks.mmseg_config: model, data pre-processor,
pipelines, schedule, all from the protocol file) -> the backbone is loaded *strictly* just before
the first iteration (benchmarks.mmseg_hooks, after mmengine's own weight init, which would
otherwise overwrite it) -> train -> IoUMetric on the val split -> mIoU, aAcc, mAcc and per-class
IoU. The frozen probe additionally checks the backbone is bit-identical at the end.
"""
from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import yaml

from benchmarks.mmseg_config import build_config, per_process_batch
from harness.api import RunContext, Task, TaskResult
from harness.convert import write_mmseg
from harness.data import LAYOUT_DIRS
from harness.data import require_valid
from harness.schema import to_data


class MMSegTask(Task):
    def run(self, ctx: RunContext) -> TaskResult:
        from benchmarks.mm_compat import mmcv_ops_kind
        from benchmarks.mmseg_hooks import register_once
        p = ctx.settings  # an MMSegProtocol
        ds = p.dataset
        ctx.require_depth(p.model["backbone"]["depth"])
        root = ctx.data(ds.layout, ds.synth)
        require_valid(ds.layout, root, ds.train)  # every file decodes, sizes agree, labels in range
        require_valid(ds.layout, root, ds.test)
        world = int(os.environ.get("WORLD_SIZE", "1"))  # the processes mmengine's launcher will join
        batch = {"global": p.schedule.batch_size, "per_process": per_process_batch(p, world),
                 "world_size": world}
        weights = ctx.out_dir / "backbone_mmseg.pth"
        report = write_mmseg(ctx.checkpoint.state, weights)
        register_once()
        from mmengine.config import Config
        from mmengine.runner import Runner
        d = build_config(p, root, str(weights), ctx.out_dir, ctx.seed, ctx.device, world)
        d["launcher"] = "pytorch" if world > 1 else "none"
        cfg = Config(d)
        cfg.dump(str(ctx.out_dir / "config.py"))
        logging.getLogger("mmengine").setLevel(logging.WARNING)
        with warnings.catch_warnings():  # mmseg warns on every odd-sized resize with align_corners
            warnings.filterwarnings("ignore", message="When align_corners=True")
            runner = Runner.from_cfg(cfg)
            runner.train()
            metrics = runner.val()
        unchanged = runner.message_hub.get_info("backbone_unchanged")
        metrics = {k: None if v is None else round(float(v), 2) for k, v in metrics.items()}  # numpy -> JSON
        return TaskResult(metrics, cfg.pretty_text,
                          notes={"conversion": report.summary(), "mmcv_ops": mmcv_ops_kind(),
                                 "backbone_unchanged_by_training": unchanged, "batch": batch},
                          artefacts={"config": "config.py", "weights": "backbone_mmseg.pth"})

    def framework_config(self, settings: Any, scale: str) -> str:
        """The mmengine config (as on a GPU; paths as placeholders), as YAML."""
        root = f"<data root>/{LAYOUT_DIRS[settings.dataset.layout]}"
        d = build_config(settings, root, "<checkpoint converted to mmseg>.pth", "<run folder>", 0, "cuda")
        return yaml.safe_dump(to_data(d), sort_keys=False)
