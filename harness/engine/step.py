"""One optimisation step of a method's model: the step the trainer runs and `bench perf` times."""
from __future__ import annotations

import torch


class NonFiniteLoss(Exception):
    """The loss of a step is NaN or infinite (raised before backward, so the weights are untouched)."""

    def __init__(self, value: float) -> None:
        super().__init__(f"loss is {value}")
        self.value = value


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside DistributedDataParallel (or the model itself)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def train_step(model: torch.nn.Module, batch: list, opt: torch.optim.Optimizer, momentum: float | None,
               amp: bool = False) -> dict[str, torch.Tensor]:
    """forward(batch) -> {'loss', **logs} (bf16 autocast on CUDA when amp), backward, optimiser step,
    then the EMA (target encoder) update with `momentum` when the method has one (not None)."""
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
        logs = model(batch)
    loss = logs["loss"]
    if not torch.isfinite(loss).all():
        raise NonFiniteLoss(loss.item())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if momentum is not None:
        unwrap(model).momentum_update(momentum)
    return logs
