"""CPU threads: how many intra-op threads a DenseBench process runs, and how idle threads wait.

- Intra-op threads: PyTorch's own choice, which on Linux is OMP_NUM_THREADS when set and otherwise
  the CPUs this process may run on (os.sched_getaffinity: `taskset -c 0 bench ...` runs one thread).
  DenseBench does not override it: the thread count changes the order of floating-point reductions,
  hence the bits of a CPU run, so it is part of every CPU pre-training's cache key (`torch_threads`;
  where CUDA is present it is not: GPU arithmetic does not depend on it, and an evaluation job on
  another node must find the checkpoint its pre-training job wrote) and of every record; a user
  who wants another count sets OMP_NUM_THREADS, and it is recorded.
- Data-loader workers: PyTorch gives each worker process one intra-op thread (torch.utils.data's
  worker loop calls torch.set_num_threads(1)); a worker's augmentations are small next to the step.
- Waiting: between parallel regions libgomp (PyTorch's OpenMP runtime on Linux) spins 300,000
  iterations before it sleeps. On cores shared with another CPU-bound process the spinning thread
  takes the core from the one it waits for, and a 2-thread step ran 2-3x slower than a 1-thread
  step (issue 24). DenseBench caps the spin at SPINCOUNT iterations, unless the user set
  GOMP_SPINCOUNT or OMP_WAIT_POLICY. The wait policy does not change which thread computes what,
  so it changes no number, only time (`bench perf contention` measures it).

libgomp reads these variables once, when it is loaded (`import torch`), so `configure_openmp` runs
when `harness` is imported: a program that imports torch before harness keeps libgomp's default.
Child processes (data-loader workers, subprocesses) inherit the environment.
"""
from __future__ import annotations

import os
from collections.abc import MutableMapping

# Spin iterations before an idle OpenMP thread sleeps. Measured (docs/measured-speed.md, "Threads and shared CPUs",
# mocov2 mini step, 2 cores, medians of 8 and 12 steps in two runs): alone, spin 1000 took 0.35 /
# 0.29 s against libgomp's default 0.31 / 0.31; beside one busy process 0.65 / 0.62 s against 0.93 /
# 1.04 (one thread: 0.53 / 0.51). 10000 and more spins still collapsed (1.0-1.15 s); passive waiting
# did best under load (0.59 / 0.58) but cost 24-35 % alone (0.385 / 0.414).
SPINCOUNT = 1000


def configure_openmp(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Set GOMP_SPINCOUNT=SPINCOUNT in `environ` unless the user chose a wait behaviour.

    Returns the value set, or None when GOMP_SPINCOUNT or OMP_WAIT_POLICY was already there."""
    if "GOMP_SPINCOUNT" in environ or "OMP_WAIT_POLICY" in environ:
        return None
    environ["GOMP_SPINCOUNT"] = str(SPINCOUNT)
    return environ["GOMP_SPINCOUNT"]


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    return max(1, len(os.sched_getaffinity(0)))


def describe() -> dict[str, object]:
    """What the thread settings of this process are (for records and `bench doctor`)."""
    import torch
    return {"torch_threads": torch.get_num_threads(), "cpus": cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT"), "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name (Linux's /proc/cpuinfo `model name`, else platform.processor()), for
    records: a mini number moves with the CPU's kernels, so a record says which CPU made it."""
    import platform
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict[str, object]:
    """What a record names as the machine it was measured on: CPU model, usable CPUs, GPU (or None)."""
    import torch
    return {"cpu": cpu_model(), "cpus": cpu_count(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
