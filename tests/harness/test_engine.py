import math

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from harness.engine.optim import LARS, lr_at, momentum_at, param_groups
from harness.engine.trainer import RunSampler, train
from harness.errors import BenchError
from harness.recipe import EMASpec, ScheduleSpec, TrainSpec
from harness.schema import parse


def test_lars_matches_hand_computation():
    w = nn.Parameter(torch.tensor([3.0, 4.0]))        # ||w|| = 5
    b = nn.Parameter(torch.tensor([1.0]))             # 1-D: excluded
    w.grad, b.grad = torch.tensor([0.3, 0.4]), torch.tensor([2.0])
    opt = LARS([{"params": [w], "weight_decay": 0.1, "lars_exclude": False},
                {"params": [b], "weight_decay": 0.0, "lars_exclude": True}], lr=0.5, momentum=0.9, eta=0.01)
    opt.step()
    # g = grad + wd * w = [0.6, 0.8] (norm 1); trust = 0.01 * 5 / 1 = 0.05; update = lr * 0.05 * g
    torch.testing.assert_close(w.data, torch.tensor([3.0 - 0.5 * 0.05 * 0.6, 4.0 - 0.5 * 0.05 * 0.8]))
    torch.testing.assert_close(b.data, torch.tensor([1.0 - 0.5 * 2.0]))  # no decay, no trust ratio
    w.grad, b.grad = torch.tensor([0.3, 0.4]), torch.tensor([2.0])
    w0 = w.data.clone()
    opt.step()  # momentum: buf = 0.9 * buf + g_t
    g = torch.tensor([0.3, 0.4]) + 0.1 * w0
    step = 0.01 * w0.norm() / g.norm() * g
    torch.testing.assert_close(w.data, w0 - 0.5 * (0.9 * 0.05 * torch.tensor([0.6, 0.8]) + step))


def test_param_groups_exclude_1d():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    groups = param_groups(net, exclude_1d=True, weight_decay=1e-5)
    assert [p.ndim for p in groups[0]["params"]] == [4]
    assert len(groups[1]["params"]) == 3 and groups[1]["weight_decay"] == 0.0 and groups[1]["lars_exclude"]


def test_warmup_cosine_per_iteration():
    # PixPro: 5 warm-up epochs from lr/100, cosine per iteration to 1e-6
    sched = ScheduleSpec(warmup_epochs=5, warmup_from=0.01, final_lr=1e-6, per="iter")
    ipe, total, lr = 10, 100, 4.0
    assert lr_at(0, total, ipe, lr, sched) == pytest.approx(0.04)
    assert lr_at(25, total, ipe, lr, sched) == pytest.approx(0.04 + (4.0 - 0.04) * 25 / 50)
    assert lr_at(50, total, ipe, lr, sched) == pytest.approx(4.0)
    assert lr_at(75, total, ipe, lr, sched) == pytest.approx(1e-6 + (4.0 - 1e-6) * 0.5)  # middle of cosine
    assert lr_at(99, total, ipe, lr, sched) == pytest.approx(1e-6 + (4.0 - 1e-6) * 0.5 * (1 + math.cos(math.pi * 49 / 50)))


def test_cosine_per_epoch_is_constant_within_epoch():
    sched = ScheduleSpec(per="epoch")
    assert lr_at(0, 100, 10, 0.3, sched) == lr_at(9, 100, 10, 0.3, sched) == pytest.approx(0.3)
    assert lr_at(50, 100, 10, 0.3, sched) == pytest.approx(0.15)
    assert lr_at(99, 100, 10, 0.3, sched) == pytest.approx(0.3 * 0.5 * (1 + math.cos(math.pi * 9 / 10)))


def test_step_schedule_and_adam():
    """Zhang & Maire: Adam lr 1e-2, x0.1 at epochs 25, 45 and 60 of 80 (10 iterations per epoch here)."""
    from harness.recipe import ScheduleSpec, OptimizerSpec
    from harness.engine.optim import build_optimizer
    s = ScheduleSpec(name="step", per="epoch", milestones=(25, 45, 60), gamma=0.1)
    got = [lr_at(e * 10, 800, 10, 1e-2, s) for e in (0, 24, 25, 44, 45, 59, 60, 79)]
    assert got == pytest.approx([1e-2, 1e-2, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])
    assert lr_at(259, 800, 10, 1e-2, s) == pytest.approx(1e-3)  # the whole epoch 25 at the decayed rate
    opt = build_optimizer(torch.nn.Linear(2, 2), OptimizerSpec(name="adam", lr=1e-2, weight_decay=0.0), 1e-2)
    assert isinstance(opt, torch.optim.Adam) and opt.param_groups[0]["lr"] == 1e-2


def test_ema_momentum_schedules():
    ema = EMASpec(base=0.99, schedule="cosine")
    assert momentum_at(0, 1000, ema) == pytest.approx(0.99)
    assert momentum_at(500, 1000, ema) == pytest.approx(0.995)
    assert momentum_at(1000, 1000, ema) == pytest.approx(1.0)
    assert momentum_at(700, 1000, EMASpec(base=0.999, schedule="fixed")) == 0.999


def test_sampler_shards_and_resumes():
    full = list(RunSampler(20, 4, 1, 0, seed=1, ipe=5, start_iter=0, total=15))  # 3 epochs of 5 batches
    assert [e for e, _ in full] == [0] * 20 + [1] * 20 + [2] * 20
    assert all(sorted(i for e, i in full if e == k) == list(range(20)) for k in range(3))
    assert list(RunSampler(20, 4, 1, 0, seed=1, ipe=5, start_iter=8, total=15)) == full[8 * 4:]
    r0 = list(RunSampler(20, 2, 2, 0, seed=1, ipe=5, start_iter=0, total=10))
    r1 = list(RunSampler(20, 2, 2, 1, seed=1, ipe=5, start_iter=0, total=10))
    assert set(r0).isdisjoint(r1) and len(r0) == len(r1) == 20
    with pytest.raises(ValueError, match="do not fit"):
        RunSampler(20, 4, 2, 0, seed=1, ipe=3, start_iter=0, total=3)


def test_sampler_order_is_the_one_cached_checkpoints_were_trained_with():
    """The order the engine drew when it made one data loader per epoch (EpochSampler, until
    2026-12-01), written out from that code: a cached checkpoint's key holds its config, not the
    engine's code, so a changed order would make a re-trained checkpoint differ from a cached one.
    n=10, 2 per rank x 2 ranks (ipe 2), seed 3, iterations 1-4 (a resumed run crossing 2 epochs)."""
    want = {0: [(0, 2), (0, 3), (1, 5), (1, 3), (1, 1), (1, 7), (2, 6), (2, 1)],
            1: [(0, 6), (0, 5), (1, 0), (1, 4), (1, 8), (1, 9), (2, 3), (2, 4)]}
    for rank, seq in want.items():
        assert list(RunSampler(10, 2, 2, rank, seed=3, ipe=2, start_iter=1, total=5)) == seq


class _Noisy(Dataset):
    """Random 'augmentation' from the global RNG: tests that the engine seeds it per sample."""
    def __len__(self):
        return 24

    def __getitem__(self, i):
        return torch.randn(4) + i, torch.randn(1)


class _Reg(nn.Module):
    def __init__(self, nan_at=None):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
        self.ema = nn.Linear(4, 1)
        self.calls, self.nan_at = 0, nan_at

    def forward(self, batch):
        x, y = batch
        self.calls += 1
        loss = ((self.net(x) - y) ** 2).mean()
        if self.nan_at is not None and self.calls > self.nan_at:
            loss = loss * float("nan")
        return {"loss": loss}

    @torch.no_grad()
    def momentum_update(self, m):
        self.ema.weight.mul_(m).add_(self.net[0].weight[:1], alpha=1 - m)


SPEC = parse(TrainSpec, dict(epochs=3, batch_size=4, workers=0, ckpt_every=4,
                             optimizer={"name": "sgd", "lr": 0.1, "weight_decay": 1e-4},
                             schedule={"warmup_epochs": 1, "per": "iter"}, ema={"base": 0.9, "schedule": "cosine"}), "SPEC")


def test_resume_after_kill_equals_uninterrupted(tmp_path):
    torch.manual_seed(0)
    a = _Reg()
    full = train(a, _Noisy(), SPEC, tmp_path / "a", seed=7, progress=False)
    torch.manual_seed(0)
    b = _Reg()
    out = train(b, _Noisy(), SPEC, tmp_path / "b", seed=7, stop_after=10, progress=False)  # killed at 10
    assert out["stopped"]
    torch.manual_seed(1)  # a new process: different RNG state, fresh model
    c = _Reg()
    resumed = train(c, _Noisy(), SPEC, tmp_path / "b", seed=7, resume=True, progress=False)  # resumes from iter 8
    for (k, va), vc in zip(a.state_dict().items(), c.state_dict().values()):
        assert torch.equal(va, vc), k
    assert (tmp_path / "a" / "tb").is_dir()
    assert resumed["segments_resumed_at"] == [8] and full["segments_resumed_at"] == []
    # the summary covers every segment: the wall time saved at iteration 8 is added to the last segment's
    saved = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["wall_s"]
    assert resumed["wall_s"] >= saved > 0


def test_nan_loss_stops_clearly(tmp_path):
    with pytest.raises(BenchError, match=r"loss is nan at iteration 3 .*last good checkpoint"):
        train(_Reg(nan_at=3), _Noisy(), SPEC, tmp_path, seed=7, progress=False)


def test_summary_compares_the_world_size_with_the_published_gpus(tmp_path, capsys):
    import dataclasses
    out = train(_Reg(), _Noisy(), SPEC, tmp_path / "a", seed=7, progress=False)
    assert out["published_gpus"] is None and out["as_published"] is None and out["per_process_batch"] == 4
    spec = dataclasses.replace(SPEC, published_gpus=2)  # 2 GPUs x 2 images published; here 1 process x 4
    out = train(_Reg(), _Noisy(), spec, tmp_path / "b", seed=7, progress=False)
    assert out["as_published"] is False and out["world_size"] == 1 and out["global_batch"] == 4
    assert "1 process(es) x 4 images per step; the published run used 2 GPUs x 2" in capsys.readouterr().err


@pytest.mark.parametrize("case", range(2))
def test_mmcv_warmup_cosine_equals_mmcvs_own_hook(case):
    """warmup_style mmcv (ORL and its BYOL stage) against the learning rates mmcv 1.7.2's
    CosineAnnealingLrUpdaterHook set, iteration by iteration (tests/fixtures/make_mmcv_cosine_official.py)."""
    import json
    from pathlib import Path
    c = json.loads((Path(__file__).parents[1] / "fixtures" / "mmcv_cosine_official.json").read_text())["cases"][case]
    sched = ScheduleSpec(name="cosine", per="epoch", warmup_epochs=c["warmup_epochs"], warmup_from=c["warmup_ratio"],
                         final_lr=c["min_lr"], warmup_style="mmcv")
    total = c["epochs"] * c["iters_per_epoch"]
    ours = [lr_at(it, total, c["iters_per_epoch"], c["lr"], sched) for it in range(total)]
    assert ours == pytest.approx(c["lr_per_iter"], rel=1e-12, abs=1e-15)
    # the restarted cosine (warmup_style restart) is another schedule: it differs after the warm-up
    restart = [lr_at(it, total, c["iters_per_epoch"], c["lr"], ScheduleSpec(
        name="cosine", per="epoch", warmup_epochs=c["warmup_epochs"], warmup_from=c["warmup_ratio"],
        final_lr=c["min_lr"])) for it in range(total)]
    assert max(abs(a - b) for a, b in zip(restart, c["lr_per_iter"])) > 1e-3 * c["lr"]
