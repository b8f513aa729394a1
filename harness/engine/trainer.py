"""The training engine every pre-trainer shares: data-parallel (torchrun), the recipe's precision on GPU, checkpoint every
N iterations and resume, deterministic data order and augmentation, progress bar, TensorBoard, NaN stop.

A method's model is an nn.Module whose forward(batch) returns {"loss": tensor, **scalar logs}; if it
has an EMA (momentum) encoder it defines momentum_update(m), called after every optimiser step with
the scheduled momentum.

Determinism: the sample order of epoch e is a permutation seeded by (seed, e), and every sample's
augmentation RNGs are seeded by (seed, e, index), so a resumed run sees exactly the batches an
uninterrupted run would, whatever the number of data-loader workers.
"""
from __future__ import annotations

import io
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from harness.files import atomic_write_bytes
from harness.engine import dist as bdist
from harness.engine.optim import base_lr, build_optimizer, lr_at, momentum_at
from harness.engine.step import (NonFiniteLoss, effective_precision, grad_scaler, memory_format, to_device, train_step,
                                 unwrap)
from harness.errors import BenchError
from harness.recipe import TrainSpec


def sample_seed(seed: int, epoch: int, index: int) -> int:
    return (seed * 1_000_003 + epoch * 10_007 + index) % (2**31 - 1)


class SeededDataset(Dataset):
    """Wraps a dataset: item (epoch, i) seeds python/numpy/torch RNGs from (seed, epoch, i), then returns base[i]."""

    def __init__(self, base: Dataset, seed: int) -> None:
        self.base, self.seed = base, seed

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, i = key
        s = sample_seed(self.seed, epoch, i)
        random.seed(s)
        np.random.seed(s)
        torch.manual_seed(s)
        return self.base[i]


class RunSampler(Sampler):
    """Yields (epoch, index) for this rank's share of the run's global batches start_iter..total-1,
    epoch after epoch. One sampler for the whole run means one data loader and one set of worker
    processes (not a new loader, its workers forked and its queue refilled, every epoch). Epoch e's
    order is a permutation seeded by (seed, e); iteration k is batch k % ipe of epoch k // ipe."""

    def __init__(self, n: int, batch: int, world: int, rank: int, seed: int, ipe: int, start_iter: int,
                 total: int) -> None:
        if ipe > n // (batch * world):
            raise ValueError(f"{ipe} batches of {batch} x {world} per epoch do not fit in {n} samples")
        self.n, self.batch, self.world, self.rank, self.seed = n, batch, world, rank, seed
        self.ipe, self.start, self.total = ipe, start_iter, total

    def order(self, epoch: int) -> list[int]:
        """Epoch `epoch`'s sample order (every rank draws the same one)."""
        g = torch.Generator().manual_seed(self.seed * 7919 + epoch)
        return torch.randperm(self.n, generator=g).tolist()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        gb, epoch, perm = self.batch * self.world, -1, []
        for it in range(self.start, self.total):
            e, b = divmod(it, self.ipe)
            if e != epoch:
                epoch, perm = e, self.order(e)
            first = b * gb + self.rank * self.batch
            yield from ((e, i) for i in perm[first:first + self.batch])

    def __len__(self) -> int:
        return (self.total - self.start) * self.batch


def _save(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, it: int, wall_s: float,
          scaler: torch.amp.GradScaler | None) -> None:
    buf = io.BytesIO()  # tensors and plain containers only: reloads with weights_only=True
    state = {"model": unwrap(model).state_dict(), "optimizer": opt.state_dict(), "iter": it, "wall_s": wall_s}
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def train(model: torch.nn.Module, dataset: Dataset, spec: TrainSpec, out_dir: str | os.PathLike, seed: int = 0,
          resume: bool = False, stop_after: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Train `model` on `dataset` per `spec` (sample order and augmentations seeded by `seed`),
    checkpointing into out_dir/last.pt.

    resume: continue from out_dir/last.pt if present. stop_after: return after that many iterations
    without a final checkpoint (simulates a preemption, for tests). Returns a summary dict whose
    wall_s and images_per_s cover every segment of a resumed run.
    """
    rank, world, device = bdist.init_from_env()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if spec.batch_size % world:
        raise BenchError(f"batch size {spec.batch_size} is not divisible by the {world} processes")
    per_rank = spec.batch_size // world
    published = spec.published_gpus
    if published is not None and rank == 0 and world != published:
        # same global batch, lr and schedule; what a process's BatchNorm (outside sync_bn) sees differs
        print(f"note: {world} process(es) x {per_rank} images per step; the published run used {published} "
              f"GPUs x {spec.batch_size // published} (README 'Running on a cluster': what this changes per method)",
              file=sys.stderr)
    n = len(dataset)  # type: ignore[arg-type]
    ipe = n // spec.batch_size
    if ipe == 0:
        raise BenchError(f"data set of {n} images is smaller than one batch of {spec.batch_size}")
    total = ipe * spec.epochs
    fmt = memory_format(spec.memory_format)
    model.to(device, memory_format=fmt)
    if spec.sync_bn and (world > 1 or device.type == "cuda"):  # one CPU process: plain BN, bit for bit
        from harness.engine.syncbn import convert_sync_bn
        convert_sync_bn(model, spec.sync_bn, device)
    lr0 = base_lr(spec.optimizer, spec.batch_size)
    opt = build_optimizer(model, spec.optimizer, lr0)
    precision = effective_precision(spec.precision, device)
    scaler = grad_scaler(precision)
    it, wall_before = 0, 0.0
    ckpt = out / "last.pt"
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if scaler is not None and "scaler" in state:
            scaler.load_state_dict(state["scaler"])
        it, wall_before = int(state["iter"]), float(state.get("wall_s", 0.0))
    start_it = it
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    writer = None
    if rank == 0:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(out / "tb"))
    from tqdm import tqdm
    bar = tqdm(total=total, initial=it, disable=not progress or rank != 0, dynamic_ncols=True, desc="pretrain")
    ds = SeededDataset(dataset, seed)
    t0, seen, last_loss = time.time(), 0, float("nan")
    model.train()
    sampler = RunSampler(n, per_rank, world, rank, seed, ipe, it, total)
    loader = DataLoader(ds, batch_size=per_rank, sampler=sampler, num_workers=spec.workers,
                        drop_last=True, pin_memory=device.type == "cuda")
    for batch in loader:
        lr = lr_at(it, total, ipe, lr0, spec.schedule)
        for g in opt.param_groups:
            g["lr"] = lr
        batch = to_device(batch, device, fmt)
        m = momentum_at(it, total, spec.ema) if spec.ema is not None else None
        try:
            logs = train_step(model, batch, opt, m, precision, scaler)
        except NonFiniteLoss as e:
            raise BenchError(f"{e} at iteration {it} (lr {lr:.3g}): stopped; "
                             f"the last good checkpoint is {ckpt}") from None
        it += 1
        seen += spec.batch_size
        last_loss = logs["loss"].item()
        if writer is not None:
            for k, v in logs.items():
                writer.add_scalar(f"train/{k}", float(v.detach()) if torch.is_tensor(v) else float(v), it)
            writer.add_scalar("train/lr", lr, it)
        rate = seen / max(time.time() - t0, 1e-9)
        bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{lr:.3g}", img_s=f"{rate:.1f}")
        bar.update(1)
        if stop_after is not None and it >= stop_after:
            bar.close()
            return {"iters": it, "stopped": True}
        if rank == 0 and (it % spec.ckpt_every == 0 or it == total):
            _save(ckpt, model, opt, it, wall_before + time.time() - t0, scaler)
    bar.close()
    if writer is not None:
        writer.close()
    wall = wall_before + time.time() - t0
    return {"iters": total, "epochs": spec.epochs, "final_loss": last_loss, "wall_s": wall,
            "images_per_s": total * spec.batch_size / max(wall, 1e-9), "world_size": world,
            "global_batch": spec.batch_size, "per_process_batch": per_rank, "base_lr": lr0,
            "published_gpus": published, "as_published": None if published is None else world == published,
            "segments_resumed_at": [start_it] if start_it else [], "precision": precision}
