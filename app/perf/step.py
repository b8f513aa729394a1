"""`bench perf`: training step time and peak memory of each method at its `mini` batch.

Each method is measured in its own subprocess, so the peak memory reported (peak resident set on
CPU, `torch.cuda.max_memory_allocated` on GPU) is that method's alone. The step timed is the
engine's own (harness.engine.step.train_step: forward, backward, optimiser step, EMA update);
inputs are real augmented batches of the synthetic data set, fetched before timing so data loading
is not measured. A method's prepare() runs first (hiergroup's grouping, cached; ORL's stage 2, whose
stage-1 checkpoint is pre-trained or found in the cache as a run would).
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch


def per_device_batch(recipe: Any) -> int:
    """The batch one process trains on when the recipe runs as published: batch_size / published_gpus
    (`paper` recipes: the official per-GPU batch); the whole batch where the GPU count is not given."""
    return recipe.train.batch_size // (recipe.train.published_gpus or 1)


def peak_matmul_tflops(device: str, dtype: torch.dtype, n: int = 8192, reps: int = 10) -> float:
    """The device's measured matrix rate (TFLOP/s): n x n x n GEMMs in `dtype`, the denominator of
    `bench perf`'s fraction of peak (a measured peak, not the datasheet's)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b  # warm-up (cuBLAS heuristics, CPU thread pool)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e12


def measure(method_name: str, steps: int = 5, warmup: int = 1, recipe_name: str = "mini", device: str | None = None,
            batch: int | None = None, flops: bool = False) -> dict[str, Any]:
    """Median step time (s) and peak memory (MiB) of one method, measured in this process.

    device: "cpu", "cuda" or None (CUDA when present). batch: images per step (default: the recipe's
    per-process batch as published, per_device_batch). The step runs at the recipe's precision on
    CUDA (fp16 autocast + loss scaling where the paper used AMP) and in its memory format. `paper`
    recipes take their images from the `mini` recipe's synthetic set: timing only, the pixels do not
    matter. flops: also count the step's floating-point operations (torch.utils.flop_counter, forward
    and backward) once, and report TFLOP per step and TFLOP/s."""
    from torch.utils.data import DataLoader

    import tempfile

    from harness.api import StageContext
    from harness.artefacts import cpu_workers
    from harness.data import recipe_files
    from harness.engine.optim import base_lr, build_optimizer
    from harness.engine.step import effective_precision, grad_scaler, memory_format, to_device, train_step
    from harness.registry import METHODS
    method = METHODS.load(method_name)
    recipe = method.card.recipe(recipe_name)
    if recipe.train is None:
        raise ValueError(f"method '{method_name}' does not train")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(0)
    fmt = memory_format(recipe.train.memory_format)
    model = method.build(recipe, 0).to(dev, memory_format=fmt).train()
    files = recipe_files((method.card.recipe("mini") if recipe.scale == "paper" else recipe).data)
    if recipe.after:  # earlier stages (ORL's byol): pre-trained or found in the cache, as a run would
        from harness.runs import pretrain
        stages = {k: pretrain(m, r, 0, progress=False) for k, (m, r) in recipe.stages().items()}
    else:
        stages = {}
    with tempfile.TemporaryDirectory() as work:  # what prepare() keeps beside a checkpoint: not needed here
        method.prepare(recipe, StageContext(0, files, stages, Path(work), progress=False, workers=cpu_workers()))
    train = recipe.train
    batch_size = batch or per_device_batch(recipe)
    inputs = next(iter(DataLoader(method.dataset(recipe, files), batch_size=batch_size, shuffle=False)))
    if len(inputs[0]) != batch_size:
        raise ValueError(f"batch {batch_size}: the synthetic set has only {len(inputs[0])} images")
    inputs = to_device(inputs, dev, fmt)
    opt = build_optimizer(model, train.optimizer, base_lr(train.optimizer, train.batch_size))
    momentum = train.ema.base if train.ema is not None else None
    precision = effective_precision(train.precision, dev)
    scaler = grad_scaler(precision)
    times = []
    for i in range(warmup + steps):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        train_step(model, inputs, opt, momentum, precision, scaler)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # ru_maxrss is KiB on Linux
    step = statistics.median(times)
    out = {"method": method_name, "recipe": recipe_name, "batch": batch_size, "device": dev.type,
           "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
           "precision": precision, "memory_format": train.memory_format, "threads": torch.get_num_threads(),
           "step_s": round(step, 4), "images_per_s": round(batch_size / step, 1), "peak_mem_mib": round(peak, 1)}
    if flops:
        from torch.utils.flop_counter import FlopCounterMode
        with FlopCounterMode(display=False) as counter:  # one more step, counted, not timed
            train_step(model, inputs, opt, momentum, precision, scaler)
        out["tflop_per_step"] = round(counter.get_total_flops() / 1e12, 4)
        out["tflop_s"] = float(f"{counter.get_total_flops() / step / 1e12:.4g}")  # 4 significant digits: a CPU step is ~0.01
    return out


def _measure_in_subprocess(method: str, steps: int, env: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    code = f"import json; from app.perf.step import measure; print(json.dumps(measure({method!r}, {steps}, **{kw!r})))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"perf of {method} failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_all(methods: list[str], steps: int, **kw: Any) -> list[dict[str, Any]]:
    """Measure each method in a fresh subprocess (so peak memory is per method); kw: measure()'s
    recipe_name, device, batch, flops."""
    return [_measure_in_subprocess(m, steps, **kw) for m in methods]


def wait_settings() -> dict[str, dict[str, str]]:
    """The thread settings `contention` compares: name -> environment variables for the run."""
    from harness.threads import SPINCOUNT
    return {"libgomp default (spin 300000)": {"GOMP_SPINCOUNT": "300000"},  # libgomp's documented default
            f"DenseBench (spin {SPINCOUNT})": {"GOMP_SPINCOUNT": str(SPINCOUNT)},
            "passive (spin 0)": {"OMP_WAIT_POLICY": "PASSIVE"},
            "1 thread": {"OMP_NUM_THREADS": "1", "GOMP_SPINCOUNT": str(SPINCOUNT)}}


def contention(method: str, steps: int, settings: dict[str, dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """Step time of `method` under each thread setting, alone and beside one CPU-bound process.

    Every setting runs in its own subprocess; settings other than '1 thread' use PyTorch's default
    thread count (the CPUs this process may use). The competitor is a Python busy loop, started
    before and killed after each group of runs."""
    rows = []
    for competitor in (False, True):
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if competitor else None
        try:
            for name, extra in (settings or wait_settings()).items():
                env = {k: v for k, v in os.environ.items()
                       if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
                r = _measure_in_subprocess(method, steps, {**env, **extra})
                rows.append({**r, "setting": name, "competitor": competitor})
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return rows
