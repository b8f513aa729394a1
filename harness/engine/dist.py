"""Process-group helpers: torchrun sets RANK/WORLD_SIZE/LOCAL_RANK (env:// rendezvous, one node or
several: `torchrun --nnodes N --nproc_per_node G --rdzv-endpoint HOST:PORT`); under SLURM without
torchrun (`srun bench pretrain --launcher slurm ...`), slurm_env() derives the same variables from
SLURM's own. gloo on CPU, NCCL on GPU."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def first_host(nodelist: str) -> str:
    """The first host of a SLURM node list: 'gpu[03-05,09],cpu1' -> 'gpu03'; 'a1,b2' -> 'a1'."""
    head = nodelist.split(",")[0] if "[" not in nodelist.split(",")[0] else nodelist.split("]")[0] + "]"
    if "[" not in head:
        return head
    prefix, ranges = head.split("[", 1)
    return prefix + ranges.rstrip("]").split(",")[0].split("-")[0]


def slurm_env(env: dict[str, str] | None = None, port: int = 29500) -> dict[str, str]:
    """torch.distributed's env:// variables from a SLURM task's environment (srun: one task per
    process): RANK = SLURM_PROCID, WORLD_SIZE = SLURM_NTASKS, LOCAL_RANK = SLURM_LOCALID,
    MASTER_ADDR = the first node of SLURM_JOB_NODELIST, MASTER_PORT = `port` unless already set."""
    from harness.errors import BenchError
    env = dict(os.environ if env is None else env)
    missing = [k for k in ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_JOB_NODELIST") if k not in env]
    if missing:
        raise BenchError(f"--launcher slurm: {', '.join(missing)} not set (run the command under srun, one task "
                         "per process)")
    return {"RANK": env["SLURM_PROCID"], "WORLD_SIZE": env["SLURM_NTASKS"], "LOCAL_RANK": env["SLURM_LOCALID"],
            "MASTER_ADDR": env.get("MASTER_ADDR") or first_host(env["SLURM_JOB_NODELIST"]),
            "MASTER_PORT": env.get("MASTER_PORT") or str(port)}


def init_from_env() -> tuple[int, int, torch.device]:
    """Initialise the default process group when launched by torchrun. Returns (rank, world, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


@torch.no_grad()
def all_gather_cat(x: torch.Tensor) -> torch.Tensor:
    """Concatenate x from every process along dim 0 (no gradient). Identity on one process."""
    if world_size() == 1:
        return x
    out = [torch.empty_like(x) for _ in range(world_size())]
    dist.all_gather(out, x.contiguous())
    return torch.cat(out)
