"""`linear_cls`: linear classification on frozen features (ORL's classification table, OpenSelfSup's
benchmark: configs/benchmarks/linear_classification/<data set>/r50_last.py, run by
benchmarks/dist_train_linear.sh).

The backbone is frozen in eval mode (OpenSelfSup's ResNet with frozen_stages=4 keeps every stage,
BN included, in eval mode), so only the head trains: the chosen stage's map, global average pooled,
through one Linear layer (OpenSelfSup's ClsHead with_avg_pool, weights ~ N(0, init_std), bias 0),
cross-entropy, SGD with step decay by epoch. Training images: RandomResizedCrop and a horizontal
flip; test images: Resize of the shorter side, CenterCrop; both normalised with the checkpoint's
statistics. The test split is evaluated every `validate_every` epochs (top-1 and top-5 accuracy,
percent); `top1` is the best evaluation's (`report: best`, as OpenSelfSup reports its "Last"
protocol) or the last one's (`report: last`), and `top1_last`, `top5` (of the evaluation `top1` comes
from) and `best_epoch` are recorded beside it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from harness.api import RunContext, Task, TaskResult
from harness.errors import BenchError


def topk_correct(logits: torch.Tensor, target: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> list[int]:
    """How many rows of logits [N, K] have their target [N] among the k highest scores, per k
    (k above K counts every row, as a top-5 over fewer classes does)."""
    order = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices      # [N, k]
    hit = order == target[:, None]
    return [int(hit[:, :k].any(1).sum()) for k in ks]


def lr_at(epoch: int, base: float, steps: tuple[int, ...], gamma: float) -> float:
    """mmcv's 'step' policy by epoch: base x gamma ** (number of steps <= epoch), epochs from 0."""
    return base * gamma ** sum(epoch >= s for s in steps)


class ImageList(torch.utils.data.Dataset):
    """(normalised image tensor, label) pairs of image files through a PIL transform; an image that
    does not decode is a one-line BenchError naming it."""
    def __init__(self, paths: list[Path], labels: list[int], transform: Any, norm: dict[str, Any]) -> None:
        self.paths, self.labels, self.transform, self.norm = paths, labels, transform, norm

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        import torchvision.transforms.functional as TF
        from PIL import Image

        from harness.backbone import normalize
        try:
            with Image.open(self.paths[i]) as im:
                x = self.transform(im.convert("RGB"))
        except (OSError, ValueError) as e:
            raise BenchError(f"{self.paths[i]}: does not decode ({str(e).splitlines()[0][:80]})") from None
        return normalize(TF.to_tensor(x), self.norm), self.labels[i]


def labelled_splits(ctx: RunContext, ds: Any) -> tuple[Path, tuple[list[Path], list[int], list[str]], tuple[list[Path], list[int]]]:
    """(root, (train paths, labels, class names), (test paths, labels)) of a protocol's `dataset`."""
    from harness.data import layout
    root = ctx.data(ds.layout, ds.synth)
    lay = layout(ds.layout)
    train = lay.labelled(root, ds.train)
    test_paths, test_y, _ = lay.labelled(root, ds.test)
    return root, train, (test_paths, test_y)


def loaders(train: tuple[list[Path], list[int]], test: tuple[list[Path], list[int]], pl: Any, batch_size: int,
            workers: int, norm: dict[str, Any], seed: int) -> tuple[Any, Any]:
    """The train loader (RandomResizedCrop + flip, shuffled by a generator seeded with `seed`) and
    the test loader (Resize + CenterCrop, in order) of a classification protocol's `pipeline`."""
    import torchvision.transforms as T
    tr = torch.utils.data.DataLoader(
        ImageList(*train, T.Compose([T.RandomResizedCrop(pl.train_crop), T.RandomHorizontalFlip()]), norm),
        batch_size=batch_size, shuffle=True, num_workers=workers,
        generator=torch.Generator().manual_seed(seed), worker_init_fn=seed_worker)
    te = torch.utils.data.DataLoader(
        ImageList(*test, T.Compose([T.Resize(pl.test_resize), T.CenterCrop(pl.test_crop)]), norm),
        batch_size=batch_size, shuffle=False, num_workers=workers)
    return tr, te


def linear_head(dim: int, n_classes: int, std: float, device: torch.device) -> nn.Linear:
    """OpenSelfSup's ClsHead linear layer: weights ~ N(0, std), bias 0."""
    head = nn.Linear(dim, n_classes).to(device)
    nn.init.normal_(head.weight, 0, std)
    nn.init.zeros_(head.bias)
    return head


class LinearCls(Task):
    def run(self, ctx: RunContext) -> TaskResult:
        from harness.backbone import build_resnet, forward_to
        s, ck, seed = ctx.settings, ctx.checkpoint, ctx.seed  # a LinearClsProtocol
        where = f"{ctx.protocol.file} ({ctx.scale})"
        sc = s.schedule
        if min(sc.epochs, sc.batch_size, s.validate_every) < 1 or any(not 0 < e < sc.epochs for e in sc.steps):
            raise BenchError(f"{where}: schedule: expected epochs, batch_size, validate_every >= 1 and steps within "
                             f"1..epochs-1, got epochs {sc.epochs}, steps {list(sc.steps)}")
        _, (train_paths, train_y, classes), (test_paths, test_y) = labelled_splits(ctx, s.dataset)
        torch.manual_seed(seed)
        device = torch.device(ctx.device)
        net = build_resnet(ck.arch, ck.state).eval().to(device)
        for p in net.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            dim = forward_to(net, torch.zeros(1, 3, 64, 64, device=device), s.head.stage).shape[1]
        head = linear_head(dim, len(classes), s.head.init_std, device)
        opt = torch.optim.SGD(head.parameters(), lr=sc.lr, momentum=sc.momentum, weight_decay=sc.weight_decay,
                              nesterov=sc.nesterov)
        train, test = loaders((train_paths, train_y), (test_paths, test_y), s.pipeline, sc.batch_size, sc.workers,
                              ck.normalization, seed)

        def features(x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return forward_to(net, x.to(device), s.head.stage).mean((2, 3))   # global average pool

        evals: list[dict[str, float]] = []
        for epoch in range(sc.epochs):
            for g in opt.param_groups:
                g["lr"] = lr_at(epoch, sc.lr, sc.steps, sc.gamma)
            head.train()
            for x, y in train:
                loss = nn.functional.cross_entropy(head(features(x)), y.to(device))
                opt.zero_grad()
                loss.backward()
                opt.step()
            if (epoch + 1) % s.validate_every == 0 or epoch + 1 == sc.epochs:
                head.eval()
                hits, n = np.zeros(2), 0
                with torch.no_grad():
                    for x, y in test:
                        hits += topk_correct(head(features(x)), y.to(device))
                        n += len(y)
                evals.append({"epoch": epoch + 1, "top1": 100 * hits[0] / n, "top5": 100 * hits[1] / n})
        chosen = max(evals, key=lambda e: e["top1"]) if s.report == "best" else evals[-1]
        metrics = {"top1": round(chosen["top1"], 2), "top5": round(chosen["top5"], 2),
                   "top1_last": round(evals[-1]["top1"], 2), "best_epoch": chosen["epoch"]}
        notes = {"conversion": f"{len(ck.state)} tensors loaded into a torchvision {ck.arch}, frozen in eval mode; "
                               f"{s.head.stage} average-pooled -> {dim}-d -> Linear({dim}, {len(classes)})",
                 "images": {"train": len(train_paths), "test": len(test_paths), "classes": len(classes)},
                 "evaluations": [{k: round(v, 2) if isinstance(v, float) else v for k, v in e.items()} for e in evals],
                 "sampling": f"torch.manual_seed({seed}) (head init, crops, flips); loader order seeded {seed}"}
        return TaskResult(metrics, yaml.safe_dump(ctx.spec, sort_keys=False), notes=notes)


def seed_worker(worker_id: int) -> None:
    """A DataLoader worker's numpy and random seeds from torch's (so the crops are reproducible)."""
    import random
    s = torch.initial_seed() % 2 ** 32
    np.random.seed(s)
    random.seed(s)
