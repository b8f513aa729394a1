"""`semi_cls`: semi-supervised ImageNet classification, 1 % or 10 % of the labels (ORL's table;
OpenSelfSup's benchmark: configs/benchmarks/semi_classification/imagenet_{1,10}percent/, run by
benchmarks/dist_train_semi.sh).

The whole network is fine-tuned: the backbone (BN in training mode; SyncBN in the official 8-GPU
run, one process here) and a Linear head on the pooled res5 (ClsHead with_avg_pool, N(0, 0.01)
weights), SGD with the head's lr multiplied by `head_lr_mult` (paramwise_options '\\Ahead.'), step
decay by epoch, evaluated once after the last epoch (ValidateHook interval 20 = total_epochs).
OpenSelfSup's MODEL_ZOO: "we prepare a list of settings with the base learning rate from {0.001,
0.01, 0.1} and the learning rate multiplier for the head from {1, 10, 100}. We choose the best
performing setting for each method" - so every grid point is fine-tuned and the best top-1 on the
test split is reported (`top1`, `top5` of that setting), every setting's numbers in the record. The
choice is made on the test split, as published (not textbook: named here and in docs/deviations.md).

Labels: the published subset list (`labels.list`, OpenSelfSup's meta/train_labeled_{1,10}percent.txt
format: `<wnid>/<file> <label>` per line) when it is present under the data root; otherwise a seeded,
class-balanced draw of `labels.fraction` of each class's images (at least one), said in the record.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from benchmarks.linear_cls import labelled_splits, linear_head, loaders, lr_at, topk_correct
from harness.api import RunContext, Task, TaskResult
from harness.errors import BenchError


def label_subset(labels: list[int], fraction: float, seed: int) -> list[int]:
    """Indices of a class-balanced draw: per class, round(fraction x its images) (at least 1),
    chosen by numpy default_rng([seed, class]) without replacement; sorted."""
    out: list[int] = []
    y = np.asarray(labels)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        k = max(1, int(round(fraction * len(members))))
        out += np.random.default_rng([seed, int(c)]).choice(members, k, replace=False).tolist()
    return sorted(out)


def listed_subset(list_file: Path, root: Path, paths: list[Path]) -> list[int]:
    """Indices into `paths` (the train split) of the images a published subset list names."""
    index = {p.relative_to(root).as_posix(): i for i, p in enumerate(paths)}
    chosen = []
    for n, line in enumerate(list_file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        name = line.split()[0]
        key = name if "/" in name else f"{name.split('_')[0]}/{name}"   # a bare file name: <wnid>_<n>.JPEG
        if key not in index:
            raise BenchError(f"{list_file}:{n}: {name} is not an image of {root} (expected <wnid>/<file> of the train split)")
        chosen.append(index[key])
    if not chosen:
        raise BenchError(f"{list_file}: empty subset list")
    return sorted(set(chosen))


class SemiCls(Task):
    def _finetune(self, ck: Any, s: Any, n_classes: int, lr: float, mult: float, train: Any, test: Any,
                  seed: int, device: torch.device) -> tuple[float, float]:
        """One fine-tune from the checkpoint at base lr `lr`, head multiplier `mult`; (top1, top5) in percent."""
        from harness.backbone import build_resnet, forward_to
        torch.manual_seed(seed)
        train.generator.manual_seed(seed)  # every grid point sees the same image order
        net = build_resnet(ck.arch, ck.state).to(device)
        with torch.no_grad():
            dim = forward_to(net.eval(), torch.zeros(1, 3, 64, 64, device=device), s.head.stage).shape[1]
        head = linear_head(dim, n_classes, s.head.init_std, device)
        body = [p for name, p in net.named_parameters() if not name.startswith("fc.")]   # torchvision's fc is unused
        sc = s.schedule
        opt = torch.optim.SGD([{"params": body, "lr": lr, "base": lr}, {"params": head.parameters(), "lr": lr * mult, "base": lr * mult}],
                              lr=lr, momentum=sc.momentum, weight_decay=sc.weight_decay)
        for epoch in range(sc.epochs):
            for g in opt.param_groups:
                g["lr"] = lr_at(epoch, g["base"], sc.steps, sc.gamma)
            net.train()
            for x, y in train:
                logits = head(forward_to(net, x.to(device), s.head.stage).mean((2, 3)))
                loss = nn.functional.cross_entropy(logits, y.to(device))
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
        hits, n = np.zeros(2), 0
        with torch.no_grad():
            for x, y in test:
                hits += topk_correct(head(forward_to(net, x.to(device), s.head.stage).mean((2, 3))), y.to(device))
                n += len(y)
        return 100 * hits[0] / n, 100 * hits[1] / n

    def run(self, ctx: RunContext) -> TaskResult:
        s, ck, seed = ctx.settings, ctx.checkpoint, ctx.seed  # a SemiClsProtocol
        where = f"{ctx.protocol.file} ({ctx.scale})"
        sc, lab = s.schedule, s.labels
        if not (0 < lab.fraction <= 1) or not s.grid.lr or not s.grid.head_lr_mult or min(sc.epochs, sc.batch_size) < 1:
            raise BenchError(f"{where}: expected 0 < labels.fraction <= 1, a non-empty grid.lr and grid.head_lr_mult, "
                             f"epochs and batch_size >= 1")
        ds = s.dataset
        root, (paths, labels, classes), test_items = labelled_splits(ctx, ds)
        list_file = root / lab.list if lab.list else None
        if list_file is not None and list_file.is_file():
            keep, how = listed_subset(list_file, root / ds.train, paths), f"the published list {list_file}"
        else:
            keep = label_subset(labels, lab.fraction, seed)
            how = (f"a class-balanced draw of {lab.fraction:g} of each class (numpy default_rng([seed={seed}, class]))"
                   + (f"; {list_file} is absent" if list_file is not None else ""))
        device = torch.device(ctx.device)
        train, test = loaders(([paths[i] for i in keep], [labels[i] for i in keep]), test_items, s.pipeline,
                              sc.batch_size, sc.workers, ck.normalization, seed)
        runs = []
        for lr in s.grid.lr:
            for mult in s.grid.head_lr_mult:
                top1, top5 = self._finetune(ck, s, len(classes), lr, mult, train, test, seed, device)
                runs.append({"lr": lr, "head_lr_mult": mult, "top1": round(top1, 2), "top5": round(top5, 2)})
        best = max(runs, key=lambda r: r["top1"])   # first of equals: the grid's order
        metrics = {"top1": best["top1"], "top5": best["top5"]}
        notes = {"conversion": f"{len(ck.state)} tensors loaded into a torchvision {ck.arch}, fine-tuned (BN in training mode); "
                               f"Linear head on pooled {s.head.stage}",
                 "labels": f"{len(keep)} of {len(paths)} train images: {how}",
                 "chosen": f"lr {best['lr']:g}, head lr x {best['head_lr_mult']:g}: the best top-1 on '{ds.test}' "
                           f"of {len(runs)} settings (OpenSelfSup's MODEL_ZOO procedure)",
                 "grid": runs,
                 "sampling": f"torch.manual_seed({seed}) before each fine-tune (head init, crops, flips); loader order seeded {seed}"}
        return TaskResult(metrics, yaml.safe_dump(ctx.spec, sort_keys=False), notes=notes)
