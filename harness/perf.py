"""`bench perf`: training step time and peak memory of each method at its `mini` batch.

Each method is measured in its own subprocess, so the peak memory reported (peak resident set on
CPU, `torch.cuda.max_memory_allocated` on GPU) is that method's alone. The step timed is the
engine's own (harness.engine.step.train_step: forward, backward, optimiser step, EMA update);
inputs are real augmented batches of the synthetic data set, fetched before timing so data loading
is not measured. A method's prepare() runs first (hiergroup's grouping, cached; ORL's stage 2, whose
stage-1 checkpoint is pre-trained or found in the cache as a run would). `bench perf --davis` runs the DAVIS scorer's benchmark registered by the davis
task (entry point `densebench.perf` `davis`).
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch


def measure(method_name: str, steps: int = 5, warmup: int = 1, recipe_name: str = "mini") -> dict[str, Any]:
    """Median step time (s) and peak memory (MiB) of one method, measured in this process."""
    from torch.utils.data import DataLoader

    import tempfile

    from harness.api import StageContext
    from harness.artefacts import cpu_workers
    from harness.data import recipe_files
    from harness.engine.optim import base_lr, build_optimizer
    from harness.engine.step import effective_precision, grad_scaler, train_step
    from harness.registry import METHODS
    method = METHODS.load(method_name)
    recipe = method.card.recipe(recipe_name)
    if recipe.train is None:
        raise ValueError(f"method '{method_name}' does not train")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = method.build(recipe, 0).to(device).train()
    files = recipe_files(recipe.data)
    if recipe.after:  # earlier stages (ORL's byol): pre-trained or found in the cache, as a run would
        from harness.runs import pretrain
        stages = {k: pretrain(m, r, 0, progress=False) for k, (m, r) in recipe.stages().items()}
    else:
        stages = {}
    with tempfile.TemporaryDirectory() as work:  # what prepare() keeps beside a checkpoint: not needed here
        method.prepare(recipe, StageContext(0, files, stages, Path(work), progress=False, workers=cpu_workers()))
    train = recipe.train
    batch = next(iter(DataLoader(method.dataset(recipe, files), batch_size=train.batch_size, shuffle=False)))
    batch = [b.to(device) for b in batch]
    opt = build_optimizer(model, train.optimizer, base_lr(train.optimizer, train.batch_size))
    momentum = train.ema.base if train.ema is not None else None
    precision = effective_precision(train.precision, device)
    scaler = grad_scaler(precision)
    batch_size = train.batch_size
    times = []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        train_step(model, batch, opt, momentum, precision, scaler)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # ru_maxrss is KiB on Linux
    step = statistics.median(times)
    return {"method": method_name, "recipe": recipe_name, "batch": batch_size, "device": device.type,
            "threads": torch.get_num_threads(), "step_s": round(step, 4), "images_per_s": round(batch_size / step, 1),
            "peak_mem_mib": round(peak, 1)}


def run_all(methods: list[str], steps: int) -> list[dict[str, Any]]:
    """Measure each method in a fresh subprocess (so peak memory is per method)."""
    out = []
    for m in methods:
        code = f"import json; from harness.perf import measure; print(json.dumps(measure({m!r}, {steps})))"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"perf of {m} failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
        out.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return out
