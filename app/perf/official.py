"""`bench perf official DIR --method M`: DenseBench's training step beside the official
implementation's, on the same batch, architecture and resolution, in one process, interleaved.

Both models are built from the method's `paper` recipe (architecture, widths, temperatures,
optimiser, momentum) at a small batch (default 8: a CPU); the batch is one real augmented batch of
DenseBench's own data pipeline at the recipe's view size (the synthetic images of the `mini`
recipe: timing only, the pixels do not matter), and both steps receive the very same tensors.
Steps alternate (DenseBench, official, official, DenseBench, ...) so that a slow patch of the
machine falls on both; the median of each is reported. The official side comes from the
method's adapter (entry point group `densebench.official`, pretrainers/official_steps.py: what
is stood in for, and why). Not timed: data loading, the learning-rate schedule, logging.
"""
from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.errors import BenchError


def adapters() -> dict[str, Any]:
    """method name -> entry point of its official-step adapter."""
    return {ep.name: ep for ep in entry_points(group="densebench.official")}


def compare(method_name: str, repo: str | Path, steps: int = 3, warmup: int = 1, batch: int = 8,
            recipe_name: str = "paper") -> dict[str, Any]:
    """Median step time (s) of DenseBench's step and of the official one; ratio = official / DenseBench
    (above 1: DenseBench is faster)."""
    from torch.utils.data import DataLoader

    from harness.data import recipe_files
    from harness.engine.optim import base_lr, build_optimizer
    from harness.engine.step import memory_format, to_device, train_step
    from harness.recipe import with_overrides
    from harness.registry import METHODS
    eps = adapters()
    if method_name not in eps:
        raise BenchError(f"--method {method_name}: no official-code adapter (have: {', '.join(sorted(eps)) or 'none'})")
    method = METHODS.load(method_name)
    adapter = eps[method_name].load()
    align = getattr(adapter, "align", None)  # DenseBench settings that make both compute the same thing
    recipe = with_overrides(method.card.recipe(recipe_name), align)
    files = recipe_files(method.card.recipe("mini").data)  # synthetic images, made if missing
    loader = DataLoader(method.dataset(recipe, files), batch_size=batch, shuffle=False)
    random.seed(0)  # the augmentations draw from all three generators: the same batch every run
    np.random.seed(0)
    torch.manual_seed(0)
    inputs = next(iter(loader))
    if len(inputs[0]) != batch:
        raise BenchError(f"--batch {batch}: the synthetic set has only {len(inputs[0])} images")
    torch.manual_seed(0)
    train = recipe.train
    fmt = memory_format(train.memory_format)  # DenseBench's step as the recipe runs it
    ours = method.build(recipe, 0).to(memory_format=fmt).train()
    ours_inputs = to_device(inputs, torch.device("cpu"), fmt)
    opt = build_optimizer(ours, train.optimizer, base_lr(train.optimizer, batch))
    momentum = train.ema.base if train.ema is not None else None
    torch.manual_seed(0)
    official = adapter(Path(repo), method.params(recipe), recipe, inputs)
    fns = {"densebench": lambda: train_step(ours, ours_inputs, opt, momentum)["loss"], "official": official}
    times: dict[str, list[float]] = {k: [] for k in fns}
    losses: dict[str, float] = {}
    for i in range(warmup + steps):
        for name in (list(fns) if i % 2 == 0 else list(fns)[::-1]):
            t0 = time.perf_counter()
            loss = fns[name]()
            dt = time.perf_counter() - t0
            if i >= warmup:
                times[name].append(dt)
            losses[name] = float(loss)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"method": method_name, "recipe": recipe_name, "arch": recipe.arch, "batch": batch,
            "size": list(inputs[0].shape[-2:]), "threads": torch.get_num_threads(), "steps": steps,
            "memory_format": train.memory_format,
            "densebench_s": round(med["densebench"], 4), "official_s": round(med["official"], 4),
            "densebench_img_s": round(batch / med["densebench"], 2), "official_img_s": round(batch / med["official"], 2),
            "ratio": round(med["official"] / med["densebench"], 3), "aligned": align, "last_loss": losses,
            "input_sums": [round(float(t.double().sum()), 3) for t in inputs]}


def compare_in_subprocess(method: str, repo: str, steps: int, batch: int) -> dict[str, Any]:
    """compare() in a fresh interpreter: official repositories bring top-level packages (`models`,
    `utils`, `contrast`, `moco`) that must not meet each other in one process."""
    code = ("import json; from app.perf.official import compare; "
            f"print(json.dumps(compare({method!r}, {repo!r}, steps={steps}, batch={batch})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode != 0:
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"
        last = last.removeprefix("harness.errors.BenchError: ")
        raise BenchError(f"perf official of {method} failed: {last}")
    return json.loads(r.stdout.strip().splitlines()[-1])
