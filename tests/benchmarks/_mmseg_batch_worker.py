"""One process of tests/benchmarks/test_mmseg_batch.py, under torchrun (gloo): builds the mini voc_seg
protocol's mmengine train loader for this world size and prints how many images its first batch holds,
summed over the processes. Arguments: the synthetic VOC root."""
import os
import sys

import torch
import torch.distributed as dist

from benchmarks.mmseg_config import build_config
from benchmarks.mmseg_hooks import register_once
from harness.registry import TASKS

dist.init_process_group("gloo")
register_once()
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

init_default_scope("mmseg")
spec = TASKS.protocol("voc_seg", None).settings("mini", {"schedule": {"workers": 0}})
cfg = build_config(spec, sys.argv[1], None, "/tmp", 0, "cpu", dist.get_world_size())
batch = next(iter(Runner.build_dataloader(cfg["train_dataloader"], seed=0)))
n = torch.tensor([len(batch["inputs"])])
dist.all_reduce(n)
print(f"RANK {dist.get_rank()} WORLD {dist.get_world_size()} PER_PROCESS {len(batch['inputs'])} "
      f"GLOBAL {int(n)} PROTOCOL {spec.schedule.batch_size}", flush=True)
dist.barrier()
dist.destroy_process_group()
# leave without the interpreter's teardown: gloo's threads, still joinable in its static destructors,
# otherwise abort the process now and then ("terminate called without an active exception")
os._exit(0)
