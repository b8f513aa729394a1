"""Run by test_distributed under torchrun: 2 processes (gloo) pre-train a tiny MoCo for a few steps
(also run as one plain process, world 1, for the invariance test)."""
import hashlib
import sys

import torch

from harness.data.coco import image_files
from harness.engine import dist as bdist
from harness.engine.trainer import train
from harness.recipe import with_overrides
from harness.registry import METHODS

root, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
method = METHODS.load("mocov2")
splits = int(sys.argv[3]) if len(sys.argv) > 3 else 2  # the mini recipe's bn_splits
recipe = with_overrides(method.card.recipe("mini"), {"params": {"K": 16, "crop": 32, "bn_splits": splits},
                                                    "train": {"epochs": 1, "batch_size": 8, "workers": 0, "ckpt_every": 2}})
model = method.build(recipe, 0)
summary = train(model, method.dataset(recipe, image_files(root, "train")), recipe.train, out, seed=0, progress=False)
h = hashlib.sha256()  # parameters and queue: BN running stats are per process until the next broadcast
state = {**dict(model.named_parameters()), "queue": model.queue, "queue_ptr": model.queue_ptr}
for k, v in state.items():
    h.update(k.encode() + v.detach().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
print(f"RANK {bdist.rank()} WORLD {summary['world_size']} ITERS {summary['iters']} HASH {h.hexdigest()}")
if bdist.rank() == 0:  # for the world-size invariance test: one process with bn_splits = world gives the same
    torch.save({k: v.detach().clone() for k, v in state.items()}, f"{out}/state_w{summary['world_size']}.pt")
