"""`--launcher slurm`: torch.distributed's env:// variables from SLURM's."""
import pytest

from harness.engine.dist import first_host, slurm_env
from harness.errors import BenchError


@pytest.mark.parametrize("nodelist,host", [("gpu[03-05,09],cpu1", "gpu03"), ("a1,b2", "a1"), ("node7", "node7"),
                                           ("n[1-2]", "n1"), ("x[010,012]", "x010")])
def test_first_host(nodelist, host):
    assert first_host(nodelist) == host


def test_slurm_env():
    env = {"SLURM_PROCID": "5", "SLURM_NTASKS": "16", "SLURM_LOCALID": "1", "SLURM_JOB_NODELIST": "gpu[03-04]"}
    assert slurm_env(env) == {"RANK": "5", "WORLD_SIZE": "16", "LOCAL_RANK": "1", "MASTER_ADDR": "gpu03",
                              "MASTER_PORT": "29500"}
    assert slurm_env({**env, "MASTER_PORT": "1234"})["MASTER_PORT"] == "1234"
    with pytest.raises(BenchError, match="SLURM_PROCID, SLURM_NTASKS not set"):
        slurm_env({"SLURM_LOCALID": "0", "SLURM_JOB_NODELIST": "a"})
