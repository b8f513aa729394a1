"""DenseBench's additions to mmengine/mmseg, registered once: the strict backbone load (and the
frozen-backbone check), a progress bar, and IoUMetric with per-class IoU in the results."""
from __future__ import annotations

import hashlib

import torch

from harness.errors import BenchError


def _backbone_digest(module: torch.nn.Module) -> str:
    """sha256 over the backbone's parameters and buffers (BN statistics included)."""
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode() + v.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def register_once() -> None:
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
