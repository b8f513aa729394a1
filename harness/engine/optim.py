"""Optimisers and schedules named in PROTOCOLS.md: SGD, LARS (1-D params / BN / bias excluded),
warm-up + cosine learning rate per iteration (or per epoch), and EMA momentum schedules."""
from __future__ import annotations

import math
from typing import Any, Iterable

import torch


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


def build_optimizer(model: torch.nn.Module, cfg: dict[str, Any], base_lr: float) -> torch.optim.Optimizer:
    """cfg: {name: sgd|lars, weight_decay, momentum, exclude_1d}."""
    groups = param_groups(model, cfg.get("exclude_1d", False), cfg["weight_decay"])
    if cfg["name"] == "sgd":
        return torch.optim.SGD(groups, lr=base_lr, momentum=cfg.get("momentum", 0.9))
    if cfg["name"] == "lars":
        return LARS(groups, lr=base_lr, momentum=cfg.get("momentum", 0.9), eta=cfg.get("eta", 0.001))
    raise ValueError(f"optimizer '{cfg['name']}' is not one of sgd, lars")


def base_lr(cfg: dict[str, Any], global_batch: int) -> float:
    """lr, scaled linearly by global_batch/256 when cfg['lr_scaling'] == 'linear' (PixPro, SlotCon)."""
    return cfg["lr"] * (global_batch / 256 if cfg.get("lr_scaling") == "linear" else 1.0)


def lr_at(it: int, total: int, iters_per_epoch: int, lr: float, sched: dict[str, Any]) -> float:
    """Learning rate at iteration `it` (0-based) of `total`.

    sched: {warmup_epochs (default 0), warmup_from (fraction of lr at it 0, default 0),
            final_lr (default 0), per: 'iter' | 'epoch' (cosine evaluated per iteration or per epoch),
            name: 'cosine' | 'constant'}.
    Warm-up is linear from warmup_from*lr to lr over the warm-up iterations, then cosine to final_lr.
    """
    warm = int(sched.get("warmup_epochs", 0) * iters_per_epoch)
    if it < warm:
        start = sched.get("warmup_from", 0.0) * lr
        return start + (lr - start) * it / warm
    if sched.get("name", "cosine") == "constant":
        return lr
    final = sched.get("final_lr", 0.0)
    if sched.get("per", "iter") == "epoch":
        t, n = it // iters_per_epoch - warm // max(iters_per_epoch, 1), total // iters_per_epoch - warm // max(iters_per_epoch, 1)
    else:
        t, n = it - warm, total - warm
    return final + (lr - final) * 0.5 * (1 + math.cos(math.pi * t / max(n, 1)))


def momentum_at(it: int, total: int, ema: dict[str, Any]) -> float:
    """EMA momentum at iteration it of total. ema: {base, schedule: 'fixed' | 'cosine'}.

    cosine (BYOL, PixPro, SlotCon, ORL): m = 1 - (1 - base) * (cos(pi * it / total) + 1) / 2,
    so m = base at the first iteration and -> 1 at the last.
    """
    if ema.get("schedule", "fixed") == "fixed":
        return float(ema["base"])
    return 1 - (1 - ema["base"]) * (math.cos(math.pi * it / total) + 1) / 2
