"""`bench perf`: training step time and peak memory of each method at its `mini` batch.

Each method is measured in its own subprocess, so the peak memory reported (peak resident set on
CPU, `torch.cuda.max_memory_allocated` on GPU) is that method's alone. The step is the engine's
step: forward, backward, optimiser step, EMA update; inputs are real augmented batches of the
synthetic data set, fetched before timing so data loading is not measured.
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import torch


def measure(method_name: str, steps: int = 5, warmup: int = 1, profile: str = "mini") -> dict[str, Any]:
    """Median step time (s) and peak memory (MiB) of one method, measured in this process."""
    from harness.data import dataset_root, pretrain_files
    from harness.engine.optim import base_lr, build_optimizer
    from harness.registry import METHODS
    from torch.utils.data import DataLoader
    method = METHODS.get(method_name)
    cfg = method.config(profile)
    if cfg.get("train") is None:
        raise ValueError(f"method '{method_name}' does not train")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = method.build({**cfg, "seed": 0}).to(device).train()
    data = cfg["data"]
    files = pretrain_files(data["layout"], dataset_root(data["layout"], profile, None, data.get("synth")), data["split"])
    batch_size = cfg["train"]["batch_size"]
    batch = next(iter(DataLoader(method.dataset(cfg, files), batch_size=batch_size, shuffle=False)))
    batch = [b.to(device) for b in batch]
    opt = build_optimizer(model, cfg["train"]["optimizer"], base_lr(cfg["train"]["optimizer"], batch_size))
    times = []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = model(batch)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if hasattr(model, "momentum_update"):
            model.momentum_update(0.99)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # ru_maxrss is KiB on Linux
    step = statistics.median(times)
    return {"method": method_name, "profile": profile, "batch": batch_size, "device": device.type,
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


def davis_speed(n_seq: int = 4, n_frames: int = 20, size: tuple[int, int] = (480, 854), workers: int | None = None,
                seed: int = 0) -> dict[str, Any]:
    """J&F scoring time of benchmarks.davis_score against the per-frame reference of the official
    algorithm, on synthetic 480p sequences with perturbed predictions; also checks the numbers agree."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from benchmarks import davis_reference, davis_score
    from harness.data.davis import annotation_files, read_indexed, sequences, write_indexed, write_synthetic_davis
    with tempfile.TemporaryDirectory() as d:
        root = write_synthetic_davis(Path(d) / "DAVIS", seed=seed, n_train=1, n_val=n_seq, n_frames=n_frames, size=size)
        res = Path(d) / "results"
        rng = np.random.default_rng(seed)
        for seq in sequences(root, "val"):
            for f in annotation_files(root, seq):
                write_indexed(res / seq / f"{f.stem}.png", np.roll(read_indexed(f), int(rng.integers(-6, 7)), axis=1))
        t0 = time.perf_counter()
        ref = davis_reference.evaluate(root, res, "val")
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast, _ = davis_score.evaluate(root, res, "val", workers=workers)
        t_fast = time.perf_counter() - t0
    same = all(abs(fast[k] - v) < 1e-12 for k, v in ref.items())
    return {"sequences": n_seq, "frames": n_frames, "size": f"{size[1]}x{size[0]}", "reference_s": round(t_ref, 2),
            "densebench_s": round(t_fast, 2), "speedup": round(t_ref / t_fast, 1), "identical": same,
            "J&F-Mean": round(fast["J&F-Mean"], 6)}
