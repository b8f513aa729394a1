import re
import subprocess
import sys
from pathlib import Path


def test_torchrun_two_processes_gloo(tiny_coco, tmp_path):
    """Data-parallel pre-training under torchrun on CPU: both ranks end with identical weights
    (gradients all-reduced, shuffle-BN across processes, queue filled from both ranks)."""
    worker = Path(__file__).with_name("_ddp_worker.py")
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
                        str(worker), str(tiny_coco), str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = re.findall(r"RANK (\d) WORLD (\d) ITERS (\d+) HASH (\w+)", r.stdout)
    assert sorted(l[0] for l in lines) == ["0", "1"]
    assert {l[1] for l in lines} == {"2"} and {l[2] for l in lines} == {"3"}  # 24 images / batch 8
    assert lines[0][3] == lines[1][3]
    assert (tmp_path / "out" / "last.pt").is_file()


def test_moco_two_processes_equal_one_with_two_bn_splits(tiny_coco, tmp_path):
    """World-size invariance of MoCo v2 (issue 22): W processes at global batch B shuffle the keys across
    processes and normalise each process's B/W keys with their own BN statistics; one process with
    bn_splits = W forwards the same chunks (same seeded permutation, the global batch in rank order) with
    their own statistics. Gradients are averaged over the processes, the queue gets every process's keys
    in rank order: the weights and the queue agree up to float32 summation order. (BN running statistics
    stay per process under DDP and are not compared.) With bn_splits != W they would differ by design."""
    import torch
    worker = Path(__file__).with_name("_ddp_worker.py")
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29534",
                        str(worker), str(tiny_coco), str(tmp_path / "two")], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([sys.executable, str(worker), str(tiny_coco), str(tmp_path / "one")], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    two = torch.load(tmp_path / "two" / "state_w2.pt", weights_only=True)
    one = torch.load(tmp_path / "one" / "state_w1.pt", weights_only=True)
    assert one.keys() == two.keys() and len(one) > 60
    for k in one:
        torch.testing.assert_close(two[k].float(), one[k].float(), atol=2e-5, rtol=1e-4, msg=k)
    r = subprocess.run([sys.executable, str(worker), str(tiny_coco), str(tmp_path / "plain"), "1"], capture_output=True,
                       text=True, timeout=300, env=env)  # one process, one BN over all 8 keys: another computation
    assert r.returncode == 0, r.stderr[-2000:]
    plain = torch.load(tmp_path / "plain" / "state_w1.pt", weights_only=True)
    assert max((plain[k].float() - two[k].float()).abs().max().item() for k in one) > 1e-3
