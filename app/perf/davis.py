"""`bench perf davis`: J&F scoring time of benchmarks.davis_score against the per-frame reference of
the official algorithm (benchmarks.davis_reference), on synthetic 480p sequences, numbers compared;
and the whole `bench davis-score` command (a fresh interpreter: start-up, imports, scoring, CSVs),
optionally beside the official program itself (davisvideochallenge/davis2017-evaluation's
`evaluation_method.py`, run from a checkout as its README says) on the same files, CSVs compared."""
from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness.errors import BenchError


CSVS = ("global_results-val.csv", "per-sequence_results-val.csv")


def official_program(checkout: str | Path) -> Path:
    """evaluation_method.py of a davis2017-evaluation checkout, or a one-line error naming the folder."""
    script = Path(checkout) / "evaluation_method.py"
    if not (script.is_file() and (Path(checkout) / "davis2017" / "evaluation.py").is_file()):
        raise BenchError(f"--official {checkout}: expected a checkout of davisvideochallenge/davis2017-evaluation "
                         f"(evaluation_method.py and davis2017/evaluation.py)")
    return script


def timed(cmd: list[str], **kw: Any) -> tuple[subprocess.CompletedProcess, float, int]:
    """Runs `cmd` (subprocess.run keywords in kw): the result, wall seconds, and the minor page faults of
    the command and every process it waited for (getrusage RUSAGE_CHILDREN, before/after: a scorer
    whose allocator gives memory back to the kernel on every frame shows here, not in its CPU time)."""
    faults = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t0
    return r, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - faults


def run_official(script: Path, root: Path, res: Path) -> tuple[float, int, dict[str, str]]:
    """The official program as its README runs it (semi-supervised, val), on a copy of the predictions
    without any CSV (it writes its CSVs beside them, and when they are there it reads them instead of
    scoring: a copy holding `bench davis-score`'s would time nothing); wall seconds, minor page faults
    and its two CSVs' text."""
    copy = res.parent / "results_official"
    shutil.rmtree(copy, ignore_errors=True)                  # a fresh copy for each run
    shutil.copytree(res, copy, ignore=shutil.ignore_patterns("*.csv"))
    cmd = [sys.executable, script.name, "--task", "semi-supervised", "--set", "val", "--davis_path", str(root),
           "--results_path", str(copy)]
    r, wall, faults = timed(cmd, cwd=script.parent)
    if r.returncode != 0 or not all((copy / c).is_file() for c in CSVS):
        raise BenchError(f"{script}: the official program failed (exit {r.returncode}): {(r.stderr or r.stdout)[-300:]}")
    return wall, faults, {c: (copy / c).read_text() for c in CSVS}


def davis_speed(n_seq: int = 4, n_frames: int = 20, size: tuple[int, int] = (480, 854), workers: int | None = None,
                seed: int = 0, official: str | Path | None = None, repeats: int = 3) -> dict[str, Any]:
    """J&F scoring time of benchmarks.davis_score against the per-frame reference of the official
    algorithm, on synthetic 480p sequences with perturbed predictions; also checks the numbers agree.
    With `official` (a davis2017-evaluation checkout) the official program runs on the same files too:
    its wall time beside the whole `bench davis-score` command's, and its CSVs compared with ours.
    The two commands run `repeats` times, interleaved (so that a change in the machine's load
    touches both), and each reports its median wall time and median minor page faults."""
    script = official_program(official) if official is not None else None  # checked before any work
    import tempfile

    import numpy as np

    from benchmarks import davis_reference, davis_score
    from harness.data.davis import annotation_files, read_indexed, sequences, write_indexed, write_synthetic_davis
    with tempfile.TemporaryDirectory() as d:
        root = write_synthetic_davis(Path(d) / "DAVIS", seed=seed, n_train=1, n_val=n_seq, n_frames=n_frames, size=size)
        res = Path(d) / "results"
        rng = np.random.default_rng(seed)
        for seq in sequences(root, "val"):
            for f in annotation_files(root, seq):
                write_indexed(res / seq / f"{f.stem}.png", np.roll(read_indexed(f), int(rng.integers(-6, 7)), axis=1))
        t0 = time.perf_counter()
        ref = davis_reference.evaluate(root, res, "val")
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast, _ = davis_score.evaluate(root, res, "val", workers=workers)
        t_fast = time.perf_counter() - t0
        # the whole command as a user runs it: interpreter start-up, imports, scoring, the CSVs
        cmd = [sys.executable, "-m", "app.cli", "davis-score", "--davis-root", str(root), "--results", str(res),
               *(["--workers", str(workers)] if workers else [])]
        t_cmds, t_offs, f_cmds, f_offs = [], [], [], []
        for _ in range(repeats):
            r, t, f = timed(cmd, check=True)
            out = r.stdout
            t_cmds.append(t)
            f_cmds.append(f)
            if official is not None:
                t, f, off_csvs = run_official(script, root, res)
                t_offs.append(t)
                f_offs.append(f)
        t_cmd = statistics.median(t_cmds)
        if official is not None:
            t_off = statistics.median(t_offs)
            ours = {c: (res / c).read_text() for c in CSVS}
    same = all(abs(fast[k] - v) < 1e-12 for k, v in ref.items()) and f"J&F-Mean {fast['J&F-Mean']:.3f}" in out
    return {"sequences": n_seq, "frames": n_frames, "size": f"{size[1]}x{size[0]}", "reference_s": round(t_ref, 2),
            "densebench_s": round(t_fast, 2), "speedup": round(t_ref / t_fast, 1), "identical": same,
            "command_s": round(t_cmd, 2), "command_runs_s": [round(t, 2) for t in t_cmds],
            "command_speedup": round(t_ref / t_cmd, 1), "command_minor_faults": int(statistics.median(f_cmds)),
            "J&F-Mean": round(fast["J&F-Mean"], 6),
            **({"official_command_s": round(t_off, 2), "official_runs_s": [round(t, 2) for t in t_offs],
                "official_speedup": round(t_off / t_cmd, 1), "official_minor_faults": int(statistics.median(f_offs)),
                "official_csvs_identical": ours == off_csvs} if official is not None else {})}
