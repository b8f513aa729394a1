"""`bench sweep --table ID`: every (method, task, protocol, seed) a paper table's measured rows need,
run through `bench pretrain` / `bench run` in child processes, skipping what is already recorded.

A trial is one method's recipe of the sweep's scale, at one seed used for both the pre-training and
the downstream run (pre-training seed k, downstream seed k), evaluated under one measured column's
(task, protocol). Pre-trainings run first, one at a time (each may use every core, and the thread
count is part of the checkpoint's identity); evaluations then run `jobs` at a time with the cores
split between them, each given the checkpoint file its pre-training wrote (`bench run --checkpoint`:
with fewer threads it would key, and train, a checkpoint of its own). Interrupted, the sweep is run
again: records are atomic and pre-trainings resume from their last checkpoint, so only what is
missing runs.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.threads import cpu_count


@dataclass(frozen=True)
class Trial:
    method: str
    recipe: str | None          # None: a user's checkpoint file (`file`), evaluated as it is
    task: str
    protocol: str
    seed: int
    file: str | None = None     # the user's checkpoint (`bench sweep --checkpoint FILE --label NAME`)

    def run_args(self, scale: str, checkpoint: Path | None = None) -> list[str]:
        """`bench run` of this trial; with `checkpoint`, that file is evaluated instead of the method's
        cache entry as the evaluating process would key it (the key holds the intra-op thread count,
        which the sweep sets per evaluation). A user's checkpoint is recorded under its label."""
        if self.file is not None:
            checkpoint = Path(self.file)
        if checkpoint is not None:
            return ["run", "--checkpoint", str(checkpoint), *(["--method", self.method] if self.file else []),
                    "--task", self.task, "--protocol", self.protocol, "--scale", scale, "--seed", str(self.seed)]
        return ["run", "--method", self.method, "--recipe", self.recipe, "--task", self.task, "--protocol",
                self.protocol, "--scale", scale, "--pretrain-seed", str(self.seed), "--seed", str(self.seed)]


def tasks_table(spec: str) -> Any:
    """An ad-hoc table (leaderboards.published.PaperTable, no rows) of tasks: `all` or task1,task2;
    one column per task, its default protocol's headline metric (the task card's first)."""
    from harness.errors import did_you_mean
    from harness.registry import TASKS
    from leaderboards.published import Column, PaperTable
    names = list(TASKS.names()) if spec == "all" else [t for t in spec.split(",") if t]
    for t in names:
        if t not in TASKS.names():
            raise BenchError(f"--tasks: unknown task '{t}'{did_you_mean(t, TASKS.names())} (see `bench ls`)")
    if not names:
        raise BenchError("--tasks: expected all or task1,task2")
    cols = tuple(Column(t, f"{t} {TASKS.card(t).metrics[0].name}", t, TASKS.protocol(t, None).id,
                        TASKS.card(t).metrics[0].name) for t in names)
    return PaperTable("tasks", "(every task)" if spec == "all" else "(tasks)", "", "tasks: " + ", ".join(names), "", cols, ())


def plan(table: Any, scale: str, seeds: list[int], method: str | None = None, recipe: str | None = None,
         checkpoint: str | None = None, label: str | None = None) -> list[Trial]:
    """The trials of a paper table's measured columns: by default for every registered method among
    its rows that has a recipe named like `scale`; with `method` (and `recipe`, default `scale`) for
    that method alone, in the table or not (a row of one's own); with `checkpoint` and `label`, that
    file evaluated at each seed (no pre-training)."""
    from harness.registry import METHODS
    names = set(METHODS.names())
    cols = list(dict.fromkeys((c.task, c.protocol) for c in table.columns if c.measured))
    if checkpoint is not None:
        if not cols:
            raise BenchError(f"table '{table.id}' has no column DenseBench measures")
        return [Trial(label or "", None, t, p, s, checkpoint) for t, p in cols for s in seeds]
    if method is not None:
        recipes = METHODS.card(method).recipes  # an unknown method: one line from the registry
        r = recipe or scale
        if r not in recipes:
            raise BenchError(f"--recipe '{r}': method '{method}' has no such recipe (it has {', '.join(recipes)})")
        methods, recipe_of = [method], {method: r}
    else:
        methods = [m for m in dict.fromkeys(r.method for r in table.rows) if m in names and scale in METHODS.card(m).recipes]
        recipe_of = {m: scale for m in methods}
    if not methods or not cols:
        raise BenchError(f"table '{table.id}' has nothing DenseBench can measure at scale '{scale}' "
                         f"({len(methods)} registered methods, {len(cols)} measured columns)")
    return [Trial(m, recipe_of[m], t, p, s) for m in methods for t, p in cols for s in seeds]


def recorded(trial: Trial, scale: str, results_root: str | None, data_root: str | None) -> bool:
    """Whether the trial's record exists (its checkpoint pre-trained and evaluated at this seed)."""
    from harness import store
    from harness.registry import TASKS
    from harness.runs import checkpoint_path
    ck = Path(trial.file) if trial.file else checkpoint_path(trial.method, trial.recipe, trial.seed, data_root)
    if not ck.exists():
        return False
    proto = TASKS.protocol(trial.task, trial.protocol)
    return store.find_record(results_root, trial.task, proto, scale, _sha256(ck), trial.seed) is not None


@functools.lru_cache(maxsize=None)
def _sha256(path: Path) -> str:
    """A checkpoint file's sha256, read once per sweep (every column and seed of a method asks)."""
    from harness.files import file_sha256
    return file_sha256(path)


def _bench(args: list[str], env: dict[str, str], log: Path) -> int:
    """Run one `bench` command in a child process, its output appended to `log`."""
    with open(log, "a") as f:
        f.write(f"$ bench {' '.join(args)}\n")
        f.flush()
        return subprocess.run([sys.executable, "-m", "app.cli", *args], stdout=f, stderr=subprocess.STDOUT,
                              env=env).returncode


def run(trials: list[Trial], scale: str, jobs: int, results_root: str | None, data_root: str | None,
        log: Path, progress: bool = True) -> dict[str, Any]:
    """Run the pending trials; returns counts and the failed commands (see `log` for their output)."""
    from tqdm import tqdm
    pending = [t for t in trials if not recorded(t, scale, results_root, data_root)]
    common = [*(["--results-root", str(results_root)] if results_root else []),
              *(["--data-root", str(data_root)] if data_root else [])]
    failed: list[str] = []
    bar = tqdm(total=len(trials), initial=len(trials) - len(pending), desc="sweep", disable=not progress,
               unit="trial", dynamic_ncols=True)
    broken = set()
    for m, r, s in dict.fromkeys((t.method, t.recipe, t.seed) for t in pending if t.file is None):  # one at a time
        args = ["pretrain", "--method", m, "--recipe", r, "--seed", str(s),
                *(["--data-root", str(data_root)] if data_root else [])]
        if _bench(args, dict(os.environ), log) != 0:
            failed.append(" ".join(args))
            broken.add((m, r, s))
    threads = max(1, cpu_count() // jobs)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    from harness.runs import checkpoint_path

    def one(t: Trial) -> None:
        # the checkpoint the pre-training above wrote (this process keys it with the same thread count
        # as that child); an evaluation with fewer threads would otherwise look for, and train, its own
        args = t.run_args(scale, None if t.file else checkpoint_path(t.method, t.recipe, t.seed, data_root))
        if (t.method, t.recipe, t.seed) not in broken and _bench([*args, *common], env, log) != 0:
            failed.append(" ".join(args))
        bar.update(1)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        list(pool.map(one, pending))
    bar.close()
    return {"trials": len(trials), "skipped": len(trials) - len(pending), "ran": len(pending), "failed": failed}
