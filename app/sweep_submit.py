"""`bench sweep --executor slurm|submitit-local|submitit-debug`: a sweep's jobs through submitit (the
default `--executor local` runs them as child processes on this machine: app.sweep).

- every pending pre-training is one job (resources from the cluster file's `pretrain` section; with
  tasks_per_node > 1 it runs `bench pretrain --launcher slurm` in each task: one process per GPU);
- the evaluations of one pre-training are one job array (the `evaluate` section), which on SLURM
  depends on the pre-training job (`--dependency afterok:<id>`); evaluations of checkpoints that
  exist already are submitted without a dependency;
- each job is a `BenchJob`, a submitit Checkpointable: on preemption or at its time limit submitit
  requeues it with the same command, and the command resumes (a pre-training from its last.pt, an
  evaluation from scratch: records are written atomically, a torn one never exists);
- on SLURM the sweep returns once submitted and writes a manifest (job ids per command) beside the
  jobs' logs; `bench sweep --status` reads what is recorded and the jobs' states. submitit-local and
  submitit-debug (submitit's LocalExecutor: subprocesses; DebugExecutor: in-process) build the same
  job graph on one machine and wait for it: a cluster sweep tried out before it is submitted.

Cluster file (YAML), every key optional, each section's keys from CLUSTER_KEYS:
    pretrain: {partition: gpu, account: lab, nodes: 1, gpus_per_node: 8, tasks_per_node: 8,
               cpus_per_task: 10, mem_gb: 400, timeout_min: 4320}
    evaluate: {partition: gpu, gpus_per_node: 1, cpus_per_task: 10, timeout_min: 1440, array_parallelism: 32}
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import submitit

from harness.errors import BenchError

EXECUTORS = {"slurm": "slurm", "submitit-local": "local", "submitit-debug": "debug"}  # ours -> submitit's
GENERIC = {"nodes": int, "gpus_per_node": int, "tasks_per_node": int, "cpus_per_task": int, "mem_gb": (int, float),
           "timeout_min": int}
SLURM_ONLY = {"partition": str, "account": str, "qos": str, "constraint": str, "array_parallelism": int}
CLUSTER_KEYS = {**GENERIC, **SLURM_ONLY}


def cluster_config(path: str | Path | None, require_sections: bool = False) -> dict[str, dict[str, Any]]:
    """The cluster file's {pretrain: {...}, evaluate: {...}} (empty sections when no file; with
    require_sections, a file without both sections is an error naming the first one missing)."""
    import yaml
    if path is None:
        return {"pretrain": {}, "evaluate": {}}
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise BenchError(f"--cluster {path}: cannot read it as YAML ({e})") from e
    if not isinstance(data, dict) or set(data) - {"pretrain", "evaluate"}:
        raise BenchError(f"--cluster {path}: expected a mapping with the sections 'pretrain' and/or 'evaluate'")
    out = {}
    for section in ("pretrain", "evaluate"):
        if require_sections and not data.get(section):
            what = "pre-training" if section == "pretrain" else "evaluation"
            raise BenchError(f"--cluster {path}: lacks the section '{section}' (the resources of the {what} jobs)")
        sec = data.get(section) or {}
        for k, v in sec.items():
            if k not in CLUSTER_KEYS:
                raise BenchError(f"--cluster {path}: {section}.{k} is not a known key (expected one of "
                                 f"{', '.join(sorted(CLUSTER_KEYS))})")
            if not isinstance(v, CLUSTER_KEYS[k]) or isinstance(v, bool):
                raise BenchError(f"--cluster {path}: {section}.{k} = {v!r}, expected {getattr(CLUSTER_KEYS[k], '__name__', 'a number')}")
        out[section] = dict(sec)
    return out


def check_executor(kind: str, path: str | Path | None) -> dict[str, dict[str, Any]]:
    """The cluster file, checked with the scheduler's presence before anything is planned or written:
    SLURM needs `sbatch` and `srun` on PATH and a cluster file with both sections (an absent section
    would send the jobs out with the scheduler's defaults)."""
    import shutil
    if kind == "slurm" and path is None:
        raise BenchError("--executor slurm needs --cluster FILE (YAML with sections pretrain and evaluate: "
                         "the jobs' resources)")
    cluster = cluster_config(path, require_sections=kind == "slurm")
    if kind == "slurm":
        absent = [c for c in ("sbatch", "srun") if shutil.which(c) is None]
        if absent:
            raise BenchError(f"--executor slurm: '{absent[0]}' is not on PATH: this machine is not a SLURM "
                             "login node (submit from one, or use --executor local / submitit-local)")
    return cluster


class BenchJob(submitit.helpers.Checkpointable):
    """One `bench` command run in the job's process. submitit calls checkpoint() on preemption or at
    the time limit and requeues the same command (Checkpointable's default), which resumes."""

    def __call__(self, args: list[str]) -> int:
        from app.cli import main
        rc = main(list(args))
        if rc != 0:
            raise RuntimeError(f"bench {' '.join(args)} exited with {rc}")
        return rc


def executor(kind: str, folder: Path, params: dict[str, Any], name: str) -> submitit.AutoExecutor:
    """A submitit executor of `kind` with a cluster-file section's resources."""
    if kind not in EXECUTORS:
        raise BenchError(f"--executor {kind}: expected one of {', '.join(EXECUTORS)}")
    ex = submitit.AutoExecutor(folder=str(folder), cluster=EXECUTORS[kind])
    generic = {k: v for k, v in params.items() if k in GENERIC}
    slurm = {f"slurm_{k}": v for k, v in params.items() if k in SLURM_ONLY}
    ex.update_parameters(name=name, **generic, **slurm)
    return ex


def submit(groups: dict[tuple[str, str, int], list[list[str]]], pretrain_needed: set[tuple[str, str, int]],
           kind: str, cluster: dict[str, dict[str, Any]], folder: Path, data_root: str | None) -> dict[str, Any]:
    """Submit each group's pre-training (when needed) and its evaluations (one array per group).
    groups: (method, recipe, seed) -> the `bench run` argument lists of its pending trials.
    Returns the manifest (also written to folder/manifest.json); local/debug: after the jobs ended,
    with each command's outcome."""
    from harness.files import atomic_write_text
    folder.mkdir(parents=True, exist_ok=True)
    pre_ex = executor(kind, folder, cluster["pretrain"], "densebench-pretrain")
    multi = cluster["pretrain"].get("tasks_per_node", 1) * cluster["pretrain"].get("nodes", 1) > 1
    manifest: dict[str, Any] = {"executor": kind, "jobs": []}
    for (m, r, s), runs_args in groups.items():
        dep = None
        if (m, r, s) in pretrain_needed:
            args = ["pretrain", "--method", m, "--recipe", r, "--seed", str(s),
                    *(["--data-root", data_root] if data_root else []), *(["--launcher", "slurm"] if multi else [])]
            dep = pre_ex.submit(BenchJob(), args)
            manifest["jobs"].append({"job_id": dep.job_id, "args": args, "job": dep})
            if kind != "slurm":  # no scheduler to hold the array back: wait here
                _wait(manifest["jobs"][-1])
        ev_ex = executor(kind, folder, cluster["evaluate"], "densebench-evaluate")
        if dep is not None and kind == "slurm":
            ev_ex.update_parameters(slurm_additional_parameters={"dependency": f"afterok:{dep.job_id}"})
        if dep is not None and manifest["jobs"][-1].get("error"):
            continue  # its evaluations cannot run; the failure is in the manifest
        with ev_ex.batch():
            jobs = [(ev_ex.submit(BenchJob(), a), a) for a in runs_args]
        for job, a in jobs:
            manifest["jobs"].append({"job_id": job.job_id, "args": a, "job": job})
    if kind != "slurm":
        for j in manifest["jobs"]:
            if "error" not in j and "ok" not in j:
                _wait(j)
    out = {"executor": kind, "jobs": [{k: v for k, v in j.items() if k != "job"} for j in manifest["jobs"]]}
    atomic_write_text(folder / "manifest.json", json.dumps(out, indent=1))
    return out


def _wait(entry: dict[str, Any]) -> None:
    """Wait for a local/debug job; its failure is recorded in the entry and the sweep goes on.
    (exception(), not result(): the debug executor's result() opens pdb on a failure.)"""
    e = entry["job"].exception()
    if e is None:
        entry["ok"] = True
    else:
        # submitit wraps a subprocess job's failure in a FailedJobError with the traceback and log
        # paths: keep the line that names the command
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        named = [ln for ln in lines if "exited with" in ln]
        entry["error"] = (named[-1] if named else lines[0] if lines else type(e).__name__)[:300]
        entry["log"] = str(entry["job"].paths.stderr)


def status(folder: Path) -> list[dict[str, Any]]:
    """The manifest's jobs with their current state (SLURM: from sacct through submitit; "UNKNOWN"
    where the scheduler cannot be asked)."""
    path = folder / "manifest.json"
    if not path.exists():
        return []
    man = json.loads(path.read_text())
    for j in man["jobs"]:
        if "ok" in j or "error" in j:
            j["state"] = "COMPLETED" if j.get("ok") else "FAILED"
            continue
        try:
            j["state"] = submitit.SlurmJob(folder=str(folder), job_id=str(j["job_id"])).state
        except Exception:  # no sacct here, or the job is too old for the scheduler's memory
            j["state"] = "UNKNOWN"
    return man["jobs"]
