"""Run by test_distributed under torchrun: 2 processes (gloo) pre-train a tiny MoCo for a few steps."""
import hashlib
import sys

import torch

from harness.data.coco import image_files
from harness.engine import dist as bdist
from harness.engine.trainer import TrainSpec, train
from pretrainers.mocov2 import MoCoV2

root, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
method = MoCoV2()
cfg = {**method.config("mini"), "K": 16, "crop": 32, "seed": 0}
model = method.build(cfg)
spec = TrainSpec.from_dict({**cfg["train"], "epochs": 1, "batch_size": 8, "workers": 0, "ckpt_every": 2})
summary = train(model, method.dataset(cfg, image_files(root, "train")), spec, out, progress=False)
h = hashlib.sha256()  # parameters and queue: BN running stats are per process until the next broadcast
state = {**dict(model.named_parameters()), "queue": model.queue, "queue_ptr": model.queue_ptr}
for k, v in state.items():
    h.update(k.encode() + v.detach().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
print(f"RANK {bdist.rank()} WORLD {summary['world_size']} ITERS {summary['iters']} HASH {h.hexdigest()}")
