"""Every method whose `paper` recipe trains in channels_last (train.memory_format) computes the same step
in either memory format: from the same weights and batch, the losses agree to float32 summation-order
differences and every tensor's update (new - old weights) agrees to 2% of its norm (updates at
rounding level, e.g. of biases followed by BN or of EMA targets, are not compared). (Summation order
alone moves single elements whose gradient is near zero, and LARS's trust ratio amplifies that; a
permutation mistake would change whole updates. A `.view` on a channels_last activation would raise.)"""
import copy

import pytest
import torch
from torch.utils.data import DataLoader

from harness.engine.optim import base_lr, build_optimizer
from harness.engine.step import to_device, train_step
from harness.registry import METHODS

CHANNELS_LAST = [m for m in METHODS.names() if "paper" in METHODS.card(m).recipes
                 and METHODS.card(m).recipe("paper").train is not None
                 and METHODS.card(m).recipe("paper").train.memory_format == "channels_last"]


def test_the_fast_recipes_are_the_checked_ones():
    assert sorted(CHANNELS_LAST) == ["byol", "densecl", "mocov2", "pixcontrast", "pixpro", "slotcon"]


@pytest.mark.parametrize("name", CHANNELS_LAST)
def test_one_step_is_the_same_in_both_memory_formats(name, tiny_coco):
    method = METHODS.load(name)
    recipe = method.card.recipe("mini")  # the paper recipe's model code at a CPU-sized width and view
    files = sorted((tiny_coco / "train2017").glob("*.jpg"))
    torch.manual_seed(0)
    batch = next(iter(DataLoader(method.dataset(recipe, files), batch_size=8)))
    torch.manual_seed(0)
    model = method.build(recipe, 0).train()
    out = {}
    for fmt in (torch.contiguous_format, torch.channels_last):
        m = copy.deepcopy(model).to(memory_format=fmt)
        opt = build_optimizer(m, recipe.train.optimizer, base_lr(recipe.train.optimizer, 8))
        torch.manual_seed(1)  # methods that draw in their forward (shuffle-BN) draw the same
        loss = train_step(m, to_device(batch, torch.device("cpu"), fmt), opt,
                          recipe.train.ema.base if recipe.train.ema else None)["loss"]
        out[fmt] = (float(loss.detach()), {k: v.detach().clone() for k, v in m.state_dict().items()})
    (l0, w0), (l1, w1) = out.values()
    assert l1 == pytest.approx(l0, rel=1e-4, abs=1e-5)
    moved = 0
    for k, before in model.state_dict().items():
        if not before.is_floating_point():
            continue
        d0, d1 = w0[k] - before, w1[k].contiguous() - before
        if d0.norm() > max(1e-4 * before.norm(), 1e-8):  # a real update, not rounding (pre-BN biases, EMA targets)
            moved += 1
            assert (d1 - d0).norm() <= 0.02 * d0.norm(), (k, float((d1 - d0).norm() / d0.norm()))
    assert moved > 20
    conv = next(v for k, v in w1.items() if v.dim() == 4 and v.shape[-1] > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
