"""The official implementations' training steps, for `bench perf official` (app/perf/official.py).

Each adapter imports the official model from a checkout the user names (nothing of it is part of
DenseBench), builds it with the recipe's architecture and hyper-parameters, and returns a step:
the official loop's forward + backward + optimiser step (its momentum update runs inside its
forward) on the very tensors DenseBench's step receives. The official code is called as is; only
its distributed and CUDA-specific calls are stood in for, so that it runs in one CPU process:

- torch.distributed is initialised as a one-process gloo group: all_gather, all_reduce, broadcast,
  get_world_size and get_rank run for real (MoCo's shuffle-BN and SlotCon's gathers at world size 1);
- nn.SyncBatchNorm.convert_sync_batchnorm returns the module unchanged while the model is built
  (SyncBatchNorm refuses CPU tensors in training mode): per-process BN, as DenseBench's own
  recipe runs on one CPU process;
- Tensor.cuda returns the tensor itself during build and step (MoCo's randperm(...).cuda() and
  labels.cuda());
- OpenSelfSup (DenseCL, ORL's BYOL stage) builds nn.SyncBatchNorm layers itself (norm_cfg SyncBN,
  sync_bn=True), calling SyncBN's `_specify_ddp_gpu_num` (a no-op here: newer torch has no such
  method); after the build they are swapped for plain batch norm with the same weights and
  statistics, which is what SyncBN computes on one process.

OpenSelfSup needs mmcv 1.x and scikit-learn at import (its ODC memory imports sklearn); beside this
mmcv 2 they go into a folder of their own, put on PYTHONPATH for the measurement only:
`pip install --target DIR --no-deps mmcv==1.7.2 'scikit-learn<1.6' six`, and the checkout needs the
openselfsup/version.py its setup.py writes (`python setup.py develop` does; README).

Checkouts measured (docs/measured-speed.md, "Speed against the official code"): zdaxie/PixPro e390d6b, CVMI-Lab/SlotCon
30ff33d (models/slotcon.py, utils/lars.py), facebookresearch/moco 132aea9 (moco/builder.py; the last
tree before the repository was emptied), WXinlong/DenseCL b64bbb6, Jiahao000/ORL 2ad64f7.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import torch
from torch import nn

from harness.engine.optim import base_lr
from harness.errors import BenchError

Step = Callable[[], torch.Tensor]


@contextlib.contextmanager
def _cpu_stand_ins() -> Iterator[None]:
    """SyncBN conversion and Tensor.cuda as no-ops while the official code builds or steps."""
    convert, cuda = nn.SyncBatchNorm.__dict__["convert_sync_batchnorm"], torch.Tensor.cuda  # the classmethod itself
    nn.SyncBatchNorm.convert_sync_batchnorm = classmethod(lambda cls, module, *a, **k: module)
    torch.Tensor.cuda = lambda self, *a, **k: self
    # OpenSelfSup's build_norm_layer tells SyncBN its GPUs per process (an API torch has since removed)
    gpu_num = nn.SyncBatchNorm.__dict__.get("_specify_ddp_gpu_num")
    nn.SyncBatchNorm._specify_ddp_gpu_num = lambda self, gpus: None
    try:
        yield
    finally:
        nn.SyncBatchNorm.convert_sync_batchnorm, torch.Tensor.cuda = convert, cuda
        if gpu_num is None:
            del nn.SyncBatchNorm._specify_ddp_gpu_num
        else:
            nn.SyncBatchNorm._specify_ddp_gpu_num = gpu_num


def _one_process_group() -> None:
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)


def _import_from(repo: Path, module: str, names: list[str]) -> list[Any]:
    """`from module import names` out of the checkout at `repo` (first on sys.path)."""
    import importlib
    if not repo.is_dir():
        raise BenchError(f"--official {repo}: not a folder (expected a checkout of the official repository)")
    sys.path.insert(0, str(repo))
    try:
        mod = importlib.import_module(module)
        return [getattr(mod, n) for n in names]
    except (ImportError, AttributeError) as e:
        raise BenchError(f"--official {repo}: cannot import {', '.join(names)} from {module} ({e})") from e


def _stepper(model: nn.Module, opt: torch.optim.Optimizer, loss_of: Callable[[], torch.Tensor]) -> Step:
    def step() -> torch.Tensor:
        with _cpu_stand_ins():
            loss = loss_of()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return loss.detach()
    return step


def pixpro(repo: Path, p: Any, recipe: Any, batch: list[torch.Tensor]) -> Step:
    """zdaxie/PixPro: contrast.models.PixPro (the published base runs: transform layer 1, no instance
    branch) with contrast.lars (SGD wrapped by LARS over add_weight_decay's groups), main_pretrain.py's loop."""
    resnet, PixPro = _import_from(repo, "contrast.resnet", ["__dict__"])[0], _import_from(repo, "contrast.models", ["PixPro"])[0]
    LARS, add_weight_decay = _import_from(repo, "contrast.lars", ["LARS", "add_weight_decay"])
    x1, x2, c1, c2 = batch
    args = SimpleNamespace(feature_dim=p.dim, head_type="early_return", pixpro_p=p.gamma,
                           pixpro_momentum=recipe.train.ema.base, pixpro_pos_ratio=p.T, pixpro_clamp_value=0.0,
                           pixpro_transform_layer=1, pixpro_ins_loss_weight=0.0, num_instances=1000 * len(x1),
                           batch_size=len(x1), epochs=recipe.epochs, start_epoch=1)
    _one_process_group()
    with _cpu_stand_ins():
        model = PixPro(resnet[recipe.arch], args).train()
    o = recipe.train.optimizer
    opt = LARS(torch.optim.SGD(add_weight_decay(model, o.weight_decay), lr=base_lr(recipe.train.optimizer, len(x1)), momentum=o.momentum))
    return _stepper(model, opt, lambda: model(x1, x2, c1, c2))


def slotcon(repo: Path, p: Any, recipe: Any, batch: list[torch.Tensor]) -> Step:
    """CVMI-Lab/SlotCon: models.slotcon.SlotCon with utils.lars.LARS, main_pretrain.py's loop."""
    resnet = _import_from(repo, "models.resnet", ["__dict__"])[0]
    SlotCon, = _import_from(repo, "models.slotcon", ["SlotCon"])
    LARS, = _import_from(repo, "utils.lars", ["LARS"])
    v1, v2, b1, b2, f1, f2 = batch
    args = SimpleNamespace(dim_hidden=p.hidden, dim_out=p.dim, teacher_momentum=recipe.train.ema.base, arch=recipe.arch,
                           group_loss_weight=p.group_weight, student_temp=p.t_student, teacher_temp=p.t_teacher,
                           num_prototypes=p.num_prototypes, center_momentum=p.center_momentum,
                           num_instances=1000 * len(v1), world_size=1, batch_size=len(v1), epochs=recipe.epochs,
                           start_epoch=1)
    _one_process_group()
    with _cpu_stand_ins():
        model = SlotCon(resnet[recipe.arch], args).train()
    o = recipe.train.optimizer
    opt = LARS(model.parameters(), lr=base_lr(recipe.train.optimizer, len(v1)), momentum=o.momentum, weight_decay=o.weight_decay)
    return _stepper(model, opt, lambda: model(([v1, v2], [b1, b2], [f1, f2])))


def mocov2(repo: Path, p: Any, recipe: Any, batch: list[torch.Tensor]) -> Step:
    """facebookresearch/moco: moco.builder.MoCo (mlp=True: v2) over torchvision's ResNet, SGD and
    cross-entropy as main_moco.py."""
    import torchvision
    MoCo, = _import_from(repo, "moco.builder", ["MoCo"])
    x_q, x_k = batch
    _one_process_group()
    with _cpu_stand_ins():
        model = MoCo(torchvision.models.__dict__[recipe.arch], p.dim, p.K, recipe.train.ema.base, p.T, mlp=True).train()
    o = recipe.train.optimizer
    opt = torch.optim.SGD(model.parameters(), base_lr(recipe.train.optimizer, len(x_q)), momentum=o.momentum, weight_decay=o.weight_decay)
    criterion = nn.CrossEntropyLoss()

    def loss_of() -> torch.Tensor:
        output, target = model(im_q=x_q, im_k=x_k)
        return criterion(output, target)
    return _stepper(model, opt, loss_of)


# The official MoCo on one process normalises each encoder's whole batch at once (shuffle-BN at world
# size 1); DenseBench's recipe emulates 8 GPUs' BN batches with bn_splits 8 on one process: more,
# smaller convolutions. The comparison runs DenseBench with one BN batch, the same computation.
mocov2.align = {"params": {"bn_splits": 1}}  # type: ignore[attr-defined]


class _BatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over every dimension but the channel, for inputs of any rank: SyncBatchNorm on one
    process (OpenSelfSup's necks give it [N, C] as well as [N, C, H, W])."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")


def _revert_sync_bn(module: nn.Module) -> nn.Module:
    """nn.SyncBatchNorm layers -> _BatchNorm with the same parameters and buffers (one process)."""
    for name, child in module.named_children():
        if isinstance(child, nn.SyncBatchNorm):
            bn = _BatchNorm(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            bn.load_state_dict(child.state_dict())
            setattr(module, name, bn)
        else:
            _revert_sync_bn(child)
    return module


def _openselfsup(repo: Path, config: str, x1: torch.Tensor, x2: torch.Tensor, hook: str | None) -> Step:
    """An OpenSelfSup model from its config file, the optimiser its config names, the loss sum its
    train API optimises (every output whose key contains 'loss'), then the per-iteration hook's
    momentum update where the config has one (BYOLHook). (openselfsup.apis.train.build_optimizer
    without paramwise_options is `torch.optim.<type>(model.parameters(), **rest)`; importing it
    would pull in its data loaders' dependencies, lmdb among them.)"""
    build_model, = _import_from(repo, "openselfsup.models", ["build_model"])
    Config, = _import_from(repo, "mmcv", ["Config"])
    cfg = Config.fromfile(str(repo / config))
    _one_process_group()
    with _cpu_stand_ins():
        model = _revert_sync_bn(build_model(cfg.model)).train()
    o = dict(cfg.optimizer)
    if "paramwise_options" in o:
        raise BenchError(f"--official {repo}: {config} sets paramwise_options, which this adapter does not build")
    opt = getattr(torch.optim, o.pop("type"))(model.parameters(), **o)
    img = torch.stack([x1, x2], 1)                                       # [N, 2, 3, S, S] as its data sets give

    def loss_of() -> torch.Tensor:
        losses = model(img=img, mode="train")
        return sum(v for k, v in losses.items() if "loss" in k)

    step = _stepper(model, opt, loss_of)
    if hook is None:
        return step

    def step_and_hook() -> torch.Tensor:
        loss = step()
        getattr(model, hook)()
        return loss
    return step_and_hook


def densecl(repo: Path, p: Any, recipe: Any, batch: list[torch.Tensor]) -> Step:
    """WXinlong/DenseCL: configs/selfsup/densecl/densecl_coco_800ep.py (the COCO recipe) through
    OpenSelfSup's build_model and build_optimizer (SGD lr 0.3)."""
    x_q, x_k = batch
    return _openselfsup(repo, "configs/selfsup/densecl/densecl_coco_800ep.py", x_q, x_k, None)


def byol(repo: Path, p: Any, recipe: Any, batch: list[torch.Tensor]) -> Step:
    """Jiahao000/ORL stage 1: configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py (BYOL on COCO), its
    SGD, and BYOLHook's momentum_update after every iteration (update_interval 1)."""
    x1, x2 = batch[:2]
    return _openselfsup(repo, "configs/selfsup/orl/coco/stage1/r50_bs512_ep800.py", x1, x2, "momentum_update")


densecl.align = {"params": {"bn_splits": 1}}  # type: ignore[attr-defined]  # as mocov2's
