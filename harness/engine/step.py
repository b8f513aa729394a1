"""One optimisation step of a method's model: the step the trainer runs and `bench perf` times."""
from __future__ import annotations

import contextlib

import torch


class NonFiniteLoss(Exception):
    """The loss of a step is NaN or infinite (raised before backward, so the weights are untouched)."""

    def __init__(self, value: float) -> None:
        super().__init__(f"loss is {value}")
        self.value = value


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside DistributedDataParallel (or the model itself)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def effective_precision(precision: str, device: torch.device) -> str:
    """The recipe's precision on CUDA; fp32 elsewhere (autocast on CPU is not what the papers ran)."""
    return precision if device.type == "cuda" else "fp32"


def grad_scaler(precision: str) -> torch.amp.GradScaler | None:
    """A gradient scaler for fp16 (loss scaling, as apex O1 and torch.cuda.amp do); None otherwise."""
    return torch.amp.GradScaler("cuda") if precision == "fp16" else None


def _autocast(precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.float16 if precision == "fp16" else torch.bfloat16)


def memory_format(name: str) -> torch.memory_format:
    """TrainSpec.memory_format -> the torch memory format."""
    return torch.channels_last if name == "channels_last" else torch.contiguous_format


def to_device(batch: list, device: torch.device, fmt: torch.memory_format = torch.contiguous_format) -> list:
    """The batch's tensors on `device`; image batches ([N, C, H, W]) in `fmt`."""
    return [(b.to(device, non_blocking=True, memory_format=fmt) if b.dim() == 4 else b.to(device, non_blocking=True))
            if torch.is_tensor(b) else b for b in batch]


def train_step(model: torch.nn.Module, batch: list, opt: torch.optim.Optimizer, momentum: float | None,
               precision: str = "fp32", scaler: torch.amp.GradScaler | None = None) -> dict[str, torch.Tensor]:
    """forward(batch) -> {'loss', **logs} (autocast at `precision`, an effective one: see
    effective_precision), backward (scaled by `scaler` for fp16), optimiser step, then the EMA (target
    encoder) update with `momentum` when the method has one (not None)."""
    with _autocast(precision):
        logs = model(batch)
    loss = logs["loss"]
    if not torch.isfinite(loss).all():
        raise NonFiniteLoss(loss.item())
    opt.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(opt)  # unscales first; skips the step if a gradient overflowed
        scaler.update()
    else:
        loss.backward()
        opt.step()
    if momentum is not None:
        unwrap(model).momentum_update(momentum)
    return logs
