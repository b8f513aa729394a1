"""The CPU stand-ins under which `bench perf official` runs official code (pretrainers/official_steps.py):
they change nothing but the distributed / CUDA plumbing, and undo themselves."""
import torch
import torch.nn.functional as F
from torch import nn

from pretrainers.official_steps import _cpu_stand_ins, _revert_sync_bn


def test_sync_bn_becomes_one_process_batch_norm_with_its_state():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 6), nn.SyncBatchNorm(6), nn.Sequential(nn.Conv2d(3, 4, 1), nn.SyncBatchNorm(4, momentum=0.003)))
    with torch.no_grad():
        for bn in (net[1], net[2][1]):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-1, 1)
            bn.running_mean.uniform_(-1, 1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    _revert_sync_bn(net)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in net.modules())
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    assert net[2][1].momentum == 0.003
    x2, x4 = torch.randn(7, 6), torch.randn(2, 4, 3, 3)  # OpenSelfSup's necks give SyncBN [N, C] inputs too
    for bn, x in ((net[1], x2), (net[2][1], x4)):
        rm, rv = bn.running_mean.clone(), bn.running_var.clone()
        want = F.batch_norm(x, rm, rv, bn.weight, bn.bias, True, bn.momentum, bn.eps)  # training-mode BN by hand
        torch.testing.assert_close(bn.train()(x), want)
        torch.testing.assert_close(bn.running_mean, rm)


def test_stand_ins_apply_inside_and_are_undone():
    convert = nn.SyncBatchNorm.__dict__["convert_sync_batchnorm"]
    gpu_num = nn.SyncBatchNorm.__dict__.get("_specify_ddp_gpu_num")
    bn = nn.BatchNorm2d(3)
    with _cpu_stand_ins():
        assert nn.SyncBatchNorm.convert_sync_batchnorm(bn) is bn
        t = torch.ones(2)
        assert t.cuda() is t
        nn.SyncBatchNorm(3)._specify_ddp_gpu_num(1)
    assert nn.SyncBatchNorm.__dict__["convert_sync_batchnorm"] is convert
    assert isinstance(nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(bn))[0], nn.SyncBatchNorm)
    assert nn.SyncBatchNorm.__dict__.get("_specify_ddp_gpu_num") is gpu_num
