"""Run by test_syncbn: one training forward/backward of a method's model, either in one process on the
whole batch, or under torchrun with each of 2 gloo processes holding half of it (BN layers of the
official SyncBN modules converted to GlobalBatchNorm, gradients averaged as DDP does). Rank 0 saves
the loss, the gradients and the BN running statistics."""
import sys

import torch
import torch.distributed as dist

from harness.engine import dist as bdist
from harness.engine.syncbn import convert_sync_bn

method, out = sys.argv[1], sys.argv[2]
convert = sys.argv[3:] != ["plain"]  # "plain": leave per-process BN (what the official code avoids)
rank, world, device = bdist.init_from_env()
torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
N = 4
if method == "pixpro":
    from pretrainers.pixpro import PixelContrastModel
    model = PixelContrastModel("resnet18", 64, 32, 0.7, "pixpro")
    c1 = torch.tensor([[0.1, 0.1, 0.8, 0.9], [0.9, 0.0, 0.2, 0.7], [0.0, 0.2, 0.6, 0.8], [0.3, 0.3, 1.0, 1.0]])
    batch = [torch.randn(N, 3, 64, 64, generator=g), torch.randn(N, 3, 64, 64, generator=g), c1, c1.flip(0)]
    names = ["encoder", "encoder_k", "projector", "projector_k"]
elif method == "byol":
    from pretrainers.byol import BYOL
    model = BYOL("resnet18", 64, 32)
    batch = [torch.randn(N, 3, 64, 64, generator=g), torch.randn(N, 3, 64, 64, generator=g)]
    names = ["backbone", "backbone_t", "projector", "projector_t", "predictor"]
elif method == "slotcon":
    # 2 prototypes on a 4x4 map: every slot of every image is valid in both views, so each process holds
    # the same number of slot queries and the mean of the processes' losses is the whole batch's loss
    from pretrainers.slotcon import SlotConModel, valid_slots
    model = SlotConModel("resnet18", 64, 32, 2)
    box = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * N)
    batch = [torch.randn(N, 3, 128, 128, generator=g), torch.randn(N, 3, 128, 128, generator=g), box, box,
             torch.tensor([False, True, False, True]), torch.tensor([True, False, False, True])]
    names = ["encoder", "encoder_k", "projector", "projector_k", "predictor"]
else:
    raise SystemExit(f"unknown method {method}")
model.train()
if world > 1:
    if convert:
        convert_sync_bn(model, names, device)
    batch = [b.chunk(world)[rank] for b in batch]
loss = model(batch)["loss"]
loss.backward()
if method == "slotcon":
    with torch.no_grad():
        assert bool(valid_slots(model.teacher_dots(batch[0])).all() and valid_slots(model.teacher_dots(batch[1])).all()), \
            "not every slot is valid: the processes' query counts may differ"
grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
stats = {n: b.detach().clone() for n, b in model.named_buffers() if "running" in n}
if world > 1:  # DDP's averaging of gradients; the loss of the global batch is the mean of the halves'
    for t in [*grads.values(), loss]:
        dist.all_reduce(t.data if t is loss else t)
        t.data.div_(world) if t is loss else t.div_(world)
if rank == 0:
    torch.save({"loss": loss.detach(), "grads": grads, "stats": stats}, out)
