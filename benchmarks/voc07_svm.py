"""`voc07_svm`: VOC07 image classification by linear SVMs on frozen features, on all of trainval and
low-shot (ORL's classification table; its `benchmarks/dist_test_svm_pretrain.sh` runs
tools/extract.py, then svm_tools/eval_svm_full.sh and eval_svm_lowshot.sh).

No training of the backbone. Every VOC2007 trainval and test image is resized (shorter side, then
to a fixed size), normalised with the checkpoint's statistics and passed through the frozen ResNet
in eval mode; the chosen stage's map is average-pooled (OpenSelfSup's MultiPooling 'specified'
parameters: res5 at 224 px, 7x7 -> AvgPool2d(6, 1, 0) -> 2x2, 8192-d for ResNet-50) and flattened.
Then benchmarks.svm: one SVM per class, its cost by 3-fold cross-validation (`mAP`, per-class
`AP.<class>`), and the low-shot SVMs (`lowshot_<k>`: mean over the samples at the cost of best mean).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from harness.api import RunContext, Task, TaskResult
from harness.errors import BenchError


def classes_of(setting: str | tuple[str, ...]) -> tuple[str, ...]:
    """The protocol's `dataset.classes`: 'voc' (the 20 VOC classes, in the devkit's sorted order) or its own list."""
    from harness.data.vocdet import VOC_CLASSES
    return tuple(sorted(VOC_CLASSES)) if setting == "voc" else tuple(setting)


@torch.no_grad()
def pooled_features(net: torch.nn.Module, paths: list[Path], norm: dict[str, Any], f: Any, device: torch.device) -> np.ndarray:
    """Frozen features of images [N, D]: resize (shorter side to f.resize, then to f.size), normalise,
    the stage's map, AvgPool2d(*f.pool), flattened (tools/extract.py with MultiPooling)."""
    import torchvision.transforms.functional as TF
    from PIL import Image

    from harness.backbone import forward_to, normalize
    pool = torch.nn.AvgPool2d(*f.pool)
    out = []
    for i in range(0, len(paths), f.batch_size):
        xs = []
        for p in paths[i:i + f.batch_size]:
            with Image.open(p) as im:
                im = TF.resize(TF.resize(im.convert("RGB"), f.resize), list(f.size))
                xs.append(normalize(TF.to_tensor(im), norm))
        out.append(pool(forward_to(net, torch.stack(xs).to(device), f.stage)).flatten(1).cpu().numpy())
    return np.concatenate(out)


def check_settings(settings: Any, where: str) -> None:
    """Refuse, before any work, a protocol whose cost grid or low-shot plan is empty or impossible."""
    from benchmarks.svm import cost_list
    if not cost_list(settings.costs, settings.halvings):
        raise BenchError(f"{where}: costs / halvings: the SVM cost grid is empty (expected at least one cost, "
                         f"e.g. costs: [1.0, 10.0, 100.0], halvings: [4, 19])")
    if settings.folds < 2:
        raise BenchError(f"{where}: folds: {settings.folds} (expected at least 2 cross-validation folds)")
    ls = settings.low_shot
    if ls is not None and (not ls.shots or ls.samples < 1 or min(ls.shots) < 1):
        raise BenchError(f"{where}: low_shot: expected shots >= 1 (at least one) and samples >= 1, "
                         f"got shots {list(ls.shots)}, samples {ls.samples}")


class Voc07Svm(Task):
    def run(self, ctx: RunContext) -> TaskResult:
        from benchmarks.svm import SvmSettings, cost_list, full_svm, low_shot_sample, low_shot_svm
        from harness.backbone import build_resnet
        from harness.data import require_valid
        from harness.data.vocdet import classification_targets
        s, ck, seed = ctx.settings, ctx.checkpoint, ctx.seed  # an SvmProtocol
        where = f"{ctx.protocol.file} ({ctx.scale})"
        check_settings(s, where)
        ds, classes = s.dataset, classes_of(s.dataset.classes)
        root = ctx.data(ds.layout, ds.synth)
        require_valid(ds.layout, root, ds.train)        # every image decodes, every annotation parses
        require_valid(ds.layout, root, ds.test)
        train_paths, train_t = classification_targets(root, ds.train, classes)
        test_paths, test_t = classification_targets(root, ds.test, classes)
        for name, t in ((ds.train, train_t), (ds.test, test_t)):
            absent = [c for c, n in zip(classes, (t == 1).sum(0)) if n == 0]
            if absent:
                raise BenchError(f"{root}: split '{name}' has no image of class {absent[0]!r} "
                                 f"(an AP needs positives; the protocol's dataset.classes lists it)")
        samples: dict[int, list[np.ndarray]] = {}
        if s.low_shot is not None:                       # drawn before any feature work, so a shortage fails first
            for k in s.low_shot.shots:
                rng = np.random.default_rng([seed, k])
                try:
                    samples[k] = [low_shot_sample(train_t, k, rng, classes) for _ in range(s.low_shot.samples)]
                except ValueError as e:
                    raise BenchError(f"{root}: split '{ds.train}': {e} (low_shot.shots in {where})") from None
        device = torch.device(ctx.device)
        net = build_resnet(ck.arch, ck.state).eval().to(device)
        train_x = pooled_features(net, train_paths, ck.normalization, s.features, device)
        test_x = pooled_features(net, test_paths, ck.normalization, s.features, device)
        costs = cost_list(s.costs, s.halvings)
        svm = SvmSettings(**vars(s.svm))
        n_jobs = max(torch.get_num_threads(), 1)         # liblinear is single-threaded: one fit per thread
        full = full_svm(train_x, train_t, test_x, test_t, costs, svm, s.folds, seed, n_jobs)
        metrics: dict[str, float | None] = {"mAP": round(float(np.mean(full["ap"])) * 100, 2)}
        low = low_shot_svm(train_x, samples, test_x, test_t, costs, svm, seed, n_jobs) if samples else {}
        for k, r in low.items():
            metrics[f"lowshot_{k}"] = round(r["mean"] * 100, 2)
            metrics[f"lowshot_{k}_std"] = round(r["std"] * 100, 2)
        metrics.update({f"AP.{c}": round(a * 100, 2) for c, a in zip(classes, full["ap"])})
        notes = {"conversion": f"{len(ck.state)} tensors loaded into a torchvision {ck.arch}, eval mode; "
                               f"{s.features.stage} pooled AvgPool2d{tuple(s.features.pool)} -> {train_x.shape[1]}-d",
                 "images": {"train": len(train_paths), "test": len(test_paths)},
                 "chosen_cost": dict(zip(classes, full["cost"])),
                 "low_shot": {str(k): {"cost": r["cost"], "min": round(r["min"] * 100, 2), "max": round(r["max"] * 100, 2)}
                              for k, r in low.items()},
                 "liblinear_unconverged": f"{full['unconverged'] + sum(r['unconverged'] for r in low.values())} of "
                                          f"{full['fits'] + sum(r['fits'] for r in low.values())} fits stopped at "
                                          f"max_iter {s.svm.max_iter} (as the official ones may)",
                 "sampling": f"low-shot samples drawn by numpy default_rng([seed={seed}, k]); LinearSVC random_state={seed}"}
        return TaskResult(metrics, yaml.safe_dump(ctx.spec, sort_keys=False), notes=notes)
