"""bench sweep through submitit: the cluster file is checked; submitit's debug and local executors run a
sweep's jobs end to end here; for SLURM the sbatch files submitit writes are checked (a stand-in
`sbatch` on PATH takes them: no scheduler here); BenchJob requeues the same command."""
import json
import os
import stat

import pytest

from harness.errors import BenchError
from leaderboards import sweep_submit


def test_cluster_file_is_checked(tmp_path):
    assert sweep_submit.cluster_config(None) == {"pretrain": {}, "evaluate": {}}
    good = tmp_path / "c.yaml"
    good.write_text("pretrain: {partition: gpu, gpus_per_node: 8, tasks_per_node: 8, timeout_min: 4320}\n"
                    "evaluate: {array_parallelism: 4, mem_gb: 64.5}\n")
    assert sweep_submit.cluster_config(good)["pretrain"]["gpus_per_node"] == 8
    for text, msg in [("pretrain: {gpu: 8}\n", "pretrain.gpu is not a known key"),
                      ("evaluate: {timeout_min: '2h'}\n", "evaluate.timeout_min = '2h', expected int"),
                      ("train: {}\n", "sections 'pretrain' and/or 'evaluate'"),
                      ("pretrain: [1\n", "cannot read it as YAML")]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(BenchError, match=msg) as e:
            sweep_submit.cluster_config(bad)
        assert str(bad) in str(e.value) and "\n" not in str(e.value)


def test_bench_job_requeues_the_same_command():
    job = sweep_submit.BenchJob()
    again = job.checkpoint(["pretrain", "--method", "mocov2"])
    assert again.function is job and again.args == (["pretrain", "--method", "mocov2"],)


def _groups(res, seeds):
    return {("random", "mini", 0): [["run", "--method", "random", "--recipe", "mini", "--task", "davis_vos",
                                     "--protocol", "videowalk", "--scale", "mini", "--pretrain-seed", "0",
                                     "--seed", str(s), "--results-root", str(res)] for s in seeds]}


@pytest.mark.parametrize("kind", ["submitit-debug", "submitit-local"])
def test_submitit_executors_run_a_sweep_here(kind, tmp_path):
    from harness import store
    res = tmp_path / "res"
    man = sweep_submit.submit(_groups(res, [0, 1]), {("random", "mini", 0)}, kind,
                              {"pretrain": {}, "evaluate": {"timeout_min": 10}}, tmp_path / "jobs", None)
    assert [j["args"][0] for j in man["jobs"]] == ["pretrain", "run", "run"]
    assert all(j.get("ok") for j in man["jobs"]), man
    recs = list(store.iter_records(res))
    assert sorted(r["seed"] for r in recs) == [0, 1] and {r["task"] for r in recs} == {"davis_vos"}
    assert json.loads((tmp_path / "jobs" / "manifest.json").read_text())["jobs"][0]["ok"] is True
    # a failing command is reported, not raised, and its job marked failed
    bad = {("random", "mini", 0): [["run", "--method", "random", "--task", "davis_vos", "--protocol", "videowalk@7"]]}
    man = sweep_submit.submit(bad, set(), kind, {"pretrain": {}, "evaluate": {}}, tmp_path / "jobs2", None)
    assert "exited with 2" in man["jobs"][0]["error"]


def test_slurm_sweep_writes_the_sbatch_files(tmp_path, monkeypatch):
    """Stand-ins for sbatch (records what it is given, answers like SLURM's) and srun (present, never run);
the files are submitit's own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    counter = tmp_path / "n"
    counter.write_text("4241")
    fake = bin_dir / "sbatch"
    fake.write_text(f"#!/bin/sh\nn=$(($(cat {counter}) + 1)); echo $n > {counter}\n"
                    f"echo \"$@\" >> {tmp_path / 'calls'}\necho \"Submitted batch job $n\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    srun = bin_dir / "srun"  # submitit looks for it to tell a SLURM host; never run here
    srun.write_text("#!/bin/sh\nexit 1\n")
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cluster = {"pretrain": {"partition": "gpu", "account": "lab", "nodes": 2, "gpus_per_node": 8, "tasks_per_node": 8,
                            "cpus_per_task": 10, "timeout_min": 4320},
               "evaluate": {"partition": "gpu", "gpus_per_node": 1, "timeout_min": 600, "array_parallelism": 1}}
    jobs = tmp_path / "jobs"
    man = sweep_submit.submit(_groups(tmp_path / "res", [0, 1]), {("random", "mini", 0)}, "slurm", cluster, jobs, None)
    assert [j["job_id"] for j in man["jobs"]] == ["4242", "4243_0", "4243_1"]
    assert man["jobs"][0]["args"][-2:] == ["--launcher", "slurm"]  # 2 nodes x 8 tasks: one process per GPU
    pre = (jobs / "4242_submission.sh").read_text()
    for line in ["#SBATCH --partition=gpu", "#SBATCH --account=lab", "#SBATCH --nodes=2", "#SBATCH --gpus-per-node=8",
                 "#SBATCH --ntasks-per-node=8", "#SBATCH --cpus-per-task=10", "#SBATCH --time=4320",
                 "#SBATCH --signal=USR2@"]:  # submitit's signal before the time limit: checkpoint and requeue
        assert line in pre, line
    assert "--dependency" not in pre and "submitit.core._submit" in pre
    arr = (jobs / "4243_submission.sh").read_text()
    for line in ["#SBATCH --array=0-1%1", "#SBATCH --dependency=afterok:4242", "#SBATCH --time=600",
                 "#SBATCH --gpus-per-node=1"]:
        assert line in arr, line
    assert [s["state"] for s in sweep_submit.status(jobs)] == ["UNKNOWN"] * 3  # no sacct here


def test_cli_checks_the_cluster_file_and_reports_status(tmp_path, capsys):
    from harness.cli import main
    bad = tmp_path / "cluster.yaml"
    bad.write_text("pretrain: {gpus: 8}\n")
    assert main(["sweep", "--table", "zhang_maire_t3", "--seeds", "0", "--executor", "slurm", "--cluster", str(bad),
                 "--results-root", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err
    assert f"--cluster {bad}: pretrain.gpus is not a known key" in err and len(err.strip().splitlines()) == 1
    assert main(["sweep", "--table", "zhang_maire_t3", "--cluster", str(bad)]) == 2
    assert "applies to the submitit executors" in capsys.readouterr().err
    assert main(["sweep", "--table", "zhang_maire_t3", "--seeds", "0", "--status", "--results-root", str(tmp_path / "res")]) == 0
    out = capsys.readouterr().out
    assert "trials recorded" in out and "no submitted jobs" in out
