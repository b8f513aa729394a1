"""Optimisers and schedules named in PROTOCOLS.md: SGD, LARS (1-D params / BN / bias excluded), Adam,
warm-up + cosine (or step) learning rate per iteration (or per epoch), and EMA momentum schedules."""
from __future__ import annotations

import math
from typing import Any, Iterable

import torch

from harness.recipe import EMASpec, OptimizerSpec, ScheduleSpec


class LARS(torch.optim.Optimizer):
    """Layer-wise adaptive rate scaling (You et al. 2017), as used by BYOL, PixPro and SlotCon.

    For a parameter p with gradient g in a group with `lars_exclude=False`:
        g <- g + wd * p;  g <- g * eta * ||p|| / ||g||  (factor 1 if either norm is 0)
    Groups with `lars_exclude=True` (biases, BN and other 1-D params) get neither weight decay nor
    adaptation. Then heavy-ball momentum: buf <- m * buf + g;  p <- p - lr * buf.
    """

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 eta: float = 0.001) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta, lars_exclude=False))

    @torch.no_grad()
    def step(self, closure=None):  # noqa: ANN001 - torch signature
        loss = closure() if closure is not None else None
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                dp = p.grad
                if not g["lars_exclude"]:
                    dp = dp.add(p, alpha=g["weight_decay"])
                    pn, un = torch.norm(p), torch.norm(dp)
                    one = torch.ones_like(pn)
                    q = torch.where(pn > 0, torch.where(un > 0, g["eta"] * pn / un, one), one)
                    dp = dp.mul(q)
                state = self.state[p]
                if "mu" not in state:
                    state["mu"] = torch.zeros_like(p)
                mu = state["mu"]
                mu.mul_(g["momentum"]).add_(dp)
                p.add_(mu, alpha=-g["lr"])
        return loss


def param_groups(model: torch.nn.Module, exclude_1d: bool, weight_decay: float) -> list[dict[str, Any]]:
    """Split trainable params: 1-D tensors (biases, norm weights) in their own excluded group."""
    decay, excl = [], []
    for p in model.parameters():
        if p.requires_grad:
            (excl if exclude_1d and p.ndim <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay, "lars_exclude": False}]
    if excl:
        groups.append({"params": excl, "weight_decay": 0.0, "lars_exclude": True})
    return groups


def build_optimizer(model: torch.nn.Module, spec: OptimizerSpec, base_lr: float) -> torch.optim.Optimizer:
    """SGD or LARS over the model's trainable parameters (1-D ones in their own group if exclude_1d)."""
    groups = param_groups(model, spec.exclude_1d, spec.weight_decay)
    if spec.name == "sgd":
        return torch.optim.SGD(groups, lr=base_lr, momentum=spec.momentum)
    if spec.name == "adam":
        return torch.optim.Adam(groups, lr=base_lr)
    return LARS(groups, lr=base_lr, momentum=spec.momentum, eta=spec.eta)


def base_lr(spec: OptimizerSpec, global_batch: int) -> float:
    """lr, scaled linearly by global_batch/256 when spec.lr_scaling == 'linear' (PixPro, SlotCon)."""
    return spec.lr * (global_batch / 256 if spec.lr_scaling == "linear" else 1.0)


def lr_at(it: int, total: int, iters_per_epoch: int, lr: float, sched: ScheduleSpec) -> float:
    """Learning rate at iteration `it` (0-based) of `total`.

    Warm-up is linear from warmup_from*lr to lr over warmup_epochs, then cosine to final_lr,
    evaluated per iteration or per epoch (sched.per); 'constant' keeps lr after the warm-up; 'step'
    multiplies lr by gamma at the start of each milestone epoch.
    """
    warm = int(sched.warmup_epochs * iters_per_epoch)
    if sched.warmup_style == "mmcv":
        return _mmcv_cosine(it, total, iters_per_epoch, warm, lr, sched)
    if it < warm:
        start = sched.warmup_from * lr
        return start + (lr - start) * it / warm
    if sched.name == "constant":
        return lr
    if sched.name == "step":
        return lr * sched.gamma ** sum(it // iters_per_epoch >= m for m in sched.milestones)
    final = sched.final_lr
    if sched.per == "epoch":
        t, n = it // iters_per_epoch - warm // max(iters_per_epoch, 1), total // iters_per_epoch - warm // max(iters_per_epoch, 1)
    else:
        t, n = it - warm, total - warm
    return final + (lr - final) * 0.5 * (1 + math.cos(math.pi * t / max(n, 1)))


def _mmcv_cosine(it: int, total: int, iters_per_epoch: int, warm: int, lr: float, sched: ScheduleSpec) -> float:
    """mmcv 1.x CosineAnnealingLrUpdaterHook with a linear warm-up: the cosine of the progress
    (epoch / epochs when per epoch, iteration / iterations otherwise) from iteration 0, and during the
    first `warm` iterations that value times 1 - (1 - it / warm) (1 - warmup_from); checked against
    the hook's own numbers (tests/fixtures/mmcv_cosine_official.json)."""
    if sched.per == "epoch":
        progress = (it // iters_per_epoch) / max(total // iters_per_epoch, 1)
    else:
        progress = it / max(total, 1)
    final = sched.final_lr
    regular = final + 0.5 * (lr - final) * (math.cos(math.pi * progress) + 1)
    if it < warm:
        return regular * (1 - (1 - it / warm) * (1 - sched.warmup_from))
    return regular


def momentum_at(it: int, total: int, ema: EMASpec) -> float:
    """EMA momentum at iteration it of total (ema.schedule 'fixed' or 'cosine').

    cosine (BYOL, PixPro, SlotCon, ORL): m = 1 - (1 - base) * (cos(pi * it / total) + 1) / 2,
    so m = base at the first iteration and -> 1 at the last.
    """
    if ema.schedule == "fixed":
        return float(ema.base)
    return 1 - (1 - ema.base) * (math.cos(math.pi * it / total) + 1) / 2
