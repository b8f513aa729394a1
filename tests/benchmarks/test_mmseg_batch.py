"""mmseg's train_dataloader.batch_size is per process; a protocol's schedule.batch_size is the global
batch the papers state (8 GPUs x 2 = 16). On W processes each loader gets global / W images, so that
one step sees the protocol's batch, not W times it (issue 40)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.mmseg_config import build_config, per_process_batch
from harness.errors import BenchError
from harness.registry import TASKS


def test_two_gloo_processes_see_the_protocols_global_batch(tmp_path):
    from harness.data.voc import write_synthetic_voc
    voc = write_synthetic_voc(tmp_path / "voc", n_train=8, n_val=2, size=(64, 80))
    worker = Path(__file__).with_name("_mmseg_batch_worker.py")
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541",
                        str(worker), str(voc)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = re.findall(r"RANK (\d) WORLD (\d) PER_PROCESS (\d+) GLOBAL (\d+) PROTOCOL (\d+)", r.stdout)
    assert sorted(l[0] for l in lines) == ["0", "1"], r.stdout
    for _, world, per, total, proto in lines:
        assert (int(world), int(per), int(total)) == (2, int(proto) // 2, int(proto)), lines


@pytest.mark.parametrize("task,protocol", [("voc_seg", None), ("cityscapes_seg", "fcn_r50_d8_769_40k")])
def test_the_batch_is_divided_or_refused(task, protocol):
    spec = TASKS.protocol(task, protocol).settings("paper")
    batch = spec.schedule.batch_size
    assert per_process_batch(spec, 1) == batch and per_process_batch(spec, 4) == batch // 4
    assert build_config(spec, "r", None, "o", 0, "cuda", 8)["train_dataloader"]["batch_size"] == batch // 8
    with pytest.raises(BenchError, match=rf"schedule.batch_size {batch} \(the global batch\): not divisible by the world size 3"):
        per_process_batch(spec, 3)
