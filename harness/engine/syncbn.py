"""Batch norm with statistics over all processes, where the official code uses SyncBatchNorm.

On CUDA, torch's SyncBatchNorm. torch's SyncBatchNorm is CUDA-only; on CPU processes (gloo) the
BN layers become `GlobalBatchNorm`: the per-channel sums of x and x^2 (and the count) are
all-reduced in the forward pass, and the sums of dy and dy * x_hat in the backward pass, so every
process normalises with the statistics of the whole global batch and the input gradient is that of
the global batch's statistics, as SyncBatchNorm computes it (weight and bias gradients stay local:
DDP averages them). On one process both are plain batch norm, bit for bit.

Which modules are converted is a recipe field (`train.sync_bn`: names of the model's submodules),
so it is visible per method, set where the official code converts.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from harness.errors import BenchError


class _GlobalBN(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,  # noqa: ANN001
                eps: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        C = x.shape[1]
        dims = [0, *range(2, x.dim())]
        shape = [1, C] + [1] * (x.dim() - 2)
        first = torch.cat([x.sum(dims), x.new_tensor([x.numel() / C])])
        dist.all_reduce(first)                                     # sums over every process's batch
        n = first[-1]
        mean = first[:C] / n
        sq = ((x - mean.view(shape)) ** 2).sum(dims)               # two passes: no E[x^2] - mean^2 cancellation
        dist.all_reduce(sq)
        var = sq / n                                               # biased: what normalises
        invstd = torch.rsqrt(var + eps)
        xhat = (x - mean.view(shape)) * invstd.view(shape)
        y = xhat * weight.view(shape) + bias.view(shape) if weight is not None else xhat
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.n, ctx.dims, ctx.shape = n, dims, shape
        return y, mean, var * n / (n - 1).clamp(min=1)            # unbiased var: the running estimate

    @staticmethod
    def backward(ctx, dy: torch.Tensor, _dmean: torch.Tensor, _dvar: torch.Tensor):  # noqa: ANN001, ANN205
        xhat, invstd, weight = ctx.saved_tensors
        dims, shape, C = ctx.dims, ctx.shape, dy.shape[1]
        sum_dy, sum_dy_xhat = dy.sum(dims), (dy * xhat).sum(dims)  # local: this process's weight/bias grads
        both = torch.cat([sum_dy, sum_dy_xhat])
        dist.all_reduce(both)
        g_dy, g_dy_xhat = both[:C] / ctx.n, both[C:] / ctx.n
        scale = (invstd * weight).view(shape) if weight is not None else invstd.view(shape)
        dx = scale * (dy - g_dy.view(shape) - xhat * g_dy_xhat.view(shape))
        return dx, (sum_dy_xhat if weight is not None else None), (sum_dy if weight is not None else None), None


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm1d/2d whose training statistics span every process (CPU/gloo stand-in for SyncBN)."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)  # one process or eval: plain batch norm
        y, mean, var = _GlobalBN.apply(x, self.weight, self.bias, self.eps)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - m).add_(mean, alpha=m)
                self.running_var.mul_(1 - m).add_(var, alpha=m)
        return y


def _to_global(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        new = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        return new
    for name, child in module.named_children():
        setattr(module, name, _to_global(child))
    return module


def convert_sync_bn(model: nn.Module, names: tuple[str, ...] | list[str], device: torch.device) -> nn.Module:
    """Synchronise the BN layers of the named submodules across processes (SyncBatchNorm on CUDA,
    GlobalBatchNorm on CPU). Parameter and buffer names are unchanged."""
    for name in names:
        sub = getattr(model, name, None)
        if not isinstance(sub, nn.Module):
            raise BenchError(f"recipe train.sync_bn: the model has no submodule '{name}'")
        setattr(model, name, nn.SyncBatchNorm.convert_sync_batchnorm(sub) if device.type == "cuda" else _to_global(sub))
    return model
