"""harness/threads.py: the OpenMP wait setting is applied before torch loads, user choices win, and
the intra-op thread count follows the CPUs the process may use."""
import os
import subprocess
import sys

import pytest

from harness.threads import SPINCOUNT, configure_openmp


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    return {**env, **extra}


def _python(code: str, env: dict[str, str], prefix: list[str] | None = None) -> str:
    r = subprocess.run([*(prefix or []), sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return r.stdout.strip()


def test_configure_sets_spincount_only_when_the_user_chose_nothing():
    env: dict[str, str] = {}
    assert configure_openmp(env) == str(SPINCOUNT) and env == {"GOMP_SPINCOUNT": str(SPINCOUNT)}
    for user in ({"GOMP_SPINCOUNT": "0"}, {"OMP_WAIT_POLICY": "ACTIVE"}):
        env = dict(user)
        assert configure_openmp(env) is None and env == user


def test_importing_harness_sets_it_before_torch_loads():
    out = _python("import os, harness, torch; print(os.environ['GOMP_SPINCOUNT'])", _clean_env())
    assert out == str(SPINCOUNT)
    assert _python("import os, harness; print(os.environ['GOMP_SPINCOUNT'])", _clean_env(GOMP_SPINCOUNT="7")) == "7"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs to tell 1 from 2")
def test_intra_op_threads_follow_affinity_and_omp_num_threads():
    code = "import harness, torch; print(torch.get_num_threads())"
    cpu = str(min(os.sched_getaffinity(0)))
    assert _python(code, _clean_env()) == str(len(os.sched_getaffinity(0)))
    assert _python(code, _clean_env(), prefix=["taskset", "-c", cpu]) == "1"
    assert _python(code, _clean_env(OMP_NUM_THREADS="1")) == "1"


def test_cpu_model_reads_the_model_name_of_proc_cpuinfo(tmp_path):
    from harness.threads import cpu_model
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
                    "processor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n")
    assert cpu_model(str(info)) == "AMD EPYC 7B13 64-Core Processor"
    info.write_text("processor\t: 0\nmodel name\t:\n")  # empty (some ARM kernels): the platform's name instead
    assert cpu_model(str(info)) != "" and cpu_model(str(tmp_path / "absent")) != ""
