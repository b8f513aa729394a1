"""bench sweep through submitit: the cluster file is checked; submitit's debug and local executors run a
sweep's jobs end to end here; for SLURM the sbatch files submitit writes are checked (a stand-in
`sbatch` on PATH takes them: no scheduler here); BenchJob requeues the same command, and a pre-training
signalled mid-way (as SLURM signals before preemption or the time limit) is requeued by submitit and
resumes to the weights of an uninterrupted run."""
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.errors import BenchError
from app import sweep_submit


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


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
        except (OSError, IndexError, ValueError):
            pass  # gone meanwhile
    return out


@pytest.mark.slow
def test_a_pretraining_signalled_midway_is_requeued_and_resumes_to_the_same_weights(plugin_env, tmp_path, monkeypatch):
    """submitit-local runs `bench pretrain` (the example plugin's rotnet, recipe `requeue`: 40 iterations, a
    resume point every 4). Once its first last.pt exists, the task process gets USR2, the signal SLURM sends
    (`--signal=USR2@...`) before a preemption or the time limit: submitit's handler checkpoints BenchJob (the
    same command), the task exits with submitit's requeue code and the local controller starts it again, as
    SLURM would requeue it. The second process resumes from last.pt; the checkpoint equals an uninterrupted
    run's weight for weight."""
    from harness.checkpoint import read_meta
    args = ["pretrain", "--method", "rotnet", "--recipe", "requeue"]
    ref_home, home = tmp_path / "ref", tmp_path / "home"
    r = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=600,
                       env={**plugin_env, "DENSEBENCH_HOME": str(ref_home)})
    assert r.returncode == 0, r.stderr[-3000:]
    for k, v in {**plugin_env, "DENSEBENCH_HOME": str(home)}.items():  # the job's processes inherit them
        monkeypatch.setenv(k, v)
    ex = sweep_submit.executor("submitit-local", tmp_path / "jobs", {"timeout_min": 30}, "densebench-requeue")
    job = ex.submit(sweep_submit.BenchJob(), args)
    deadline = time.time() + 300
    while not list(home.glob("checkpoints/rotnet/*/train/last.pt")):
        assert time.time() < deadline and not job.done(), "the job never reached its first resume point"
        time.sleep(0.05)
    tasks = _children(job._process.pid)  # the controller's one task: `bench pretrain`
    assert len(tasks) == 1
    os.kill(tasks[0], signal.SIGUSR2)
    assert job.result() == 0
    log = job.stdout() + (job.stderr() or "")
    assert "Requeued job" in log, log[-3000:]
    ckpt, = home.glob("checkpoints/rotnet/*/backbone.safetensors")
    ref, = ref_home.glob("checkpoints/rotnet/*/backbone.safetensors")
    got, want = read_meta(ckpt), read_meta(ref)
    resumed = got["train_summary"]["segments_resumed_at"]
    assert resumed and 0 < resumed[0] < 40 and resumed[0] % 4 == 0, got["train_summary"]
    assert want["train_summary"]["segments_resumed_at"] == []
    assert got["weights_sha256"] == want["weights_sha256"]


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
    from app.cli import main
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
