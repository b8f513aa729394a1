"""Global batch norm on CPU processes: 2 gloo processes each holding half a batch give the loss,
gradients and BN statistics of one process holding the whole batch (as SyncBN does on GPUs), for the
methods whose official code converts to SyncBN (PixPro, BYOL/ORL; SlotCon's layers are the same
kind). Without conversion the halves normalise with their own statistics and the numbers differ."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness.engine.syncbn import GlobalBatchNorm, convert_sync_bn

WORKER = Path(__file__).with_name("_syncbn_worker.py")


def _run(method, out, procs, port, *extra):
    cmd = [sys.executable, str(WORKER), method, str(out)] if procs == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(procs), "--master_port", str(port),
         str(WORKER), method, str(out), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**__import__("os").environ,
                                                                             "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    return torch.load(out, weights_only=True)


@pytest.mark.parametrize("method,port", [("pixpro", 29541), ("byol", 29542), ("slotcon", 29543)])
def test_two_processes_of_half_a_batch_equal_one_of_the_whole(method, port, tmp_path):
    one = _run(method, tmp_path / "one.pt", 1, port)
    two = _run(method, tmp_path / "two.pt", 2, port)
    assert two["loss"].item() == pytest.approx(one["loss"].item(), rel=1e-5)  # float32 sums in another order
    assert one["grads"].keys() == two["grads"].keys() and len(one["grads"]) > 50
    # float32 sums run in another order: each gradient within 0.1% of its tensor's largest entry (plus
    # 1e-6 absolute, for gradients that are zero up to rounding)
    bad = [k for k in one["grads"] if (two["grads"][k] - one["grads"][k]).abs().max()
           > 1e-3 * one["grads"][k].abs().max() + 1e-6]
    assert not bad, bad
    for k in one["stats"]:
        torch.testing.assert_close(two["stats"][k], one["stats"][k], atol=1e-5, rtol=1e-4, msg=k)
    plain = _run(method, tmp_path / "plain.pt", 2, port, "plain")  # per-process BN: not the same numbers
    print(method, "global BN", two["loss"].item(), "per-process BN", plain["loss"].item(), "one process", one["loss"].item())
    assert abs(plain["loss"].item() - one["loss"].item()) > 100 * abs(two["loss"].item() - one["loss"].item())


def test_conversion_keeps_names_and_is_plain_bn_on_one_process():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4), torch.nn.Linear(2, 2))
    holder = torch.nn.Module()
    holder.enc = net
    ref = {k: v.clone() for k, v in net.state_dict().items()}
    convert_sync_bn(holder, ["enc"], torch.device("cpu"))
    assert isinstance(holder.enc[1], GlobalBatchNorm) and holder.enc.state_dict().keys() == ref.keys()
    x = torch.randn(6, 3, 5, 2)
    plain = torch.nn.BatchNorm2d(4)
    plain.load_state_dict(ref and {k.split(".", 1)[1]: v for k, v in ref.items() if k.startswith("1.")})
    assert torch.equal(holder.enc[1](holder.enc[0](x)), plain(holder.enc[0](x)))
    with pytest.raises(Exception, match="no submodule 'dec'"):
        convert_sync_bn(holder, ["dec"], torch.device("cpu"))
