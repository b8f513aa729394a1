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
