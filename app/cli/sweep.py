"""`bench sweep --table ID [--scale mini] [--seeds 0-2] [--jobs N] [--executor local|slurm|...]`: run what
a paper table's measured rows need, skipping what is recorded, then print the table; on this machine
(app.sweep) or as submitit jobs (app.sweep_submit); `--status` shows where it stands."""
from __future__ import annotations

import argparse
import time

from harness.args import positive, seed_list
from harness.names import name_arg
from harness.scales import SCALES
from harness.threads import cpu_count


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run every (method, task, protocol, seed) a paper table needs, then print it")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--table", help="a paper table (see `bench table ls`) or your table file (.yaml)")
    what.add_argument("--tasks", help="with --method or --checkpoint: all, or task1,task2: each task's default protocol "
                                      "and headline metric, one table (where does it stand on everything?)")
    p.add_argument("--scale", default="mini", choices=SCALES, help="recipes and protocols of this scale (default mini)")
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2], help="pre-training = downstream seeds (default 0-2)")
    own = p.add_mutually_exclusive_group()
    own.add_argument("--method", type=name_arg, default=None,
                     help="a row of your own: this registered method (a plugin's too) on every measured column")
    own.add_argument("--checkpoint", default=None, help="a row of your own: this canonical checkpoint file (no "
                                                         "pre-training) on every measured column, named by --label")
    p.add_argument("--recipe", default=None, help="with --method: its recipe (default: the one named like --scale)")
    p.add_argument("--label", type=name_arg, default=None, help="with --checkpoint: the row's name in the table (the "
                                                                 "method its metadata names, as its records keep; default)")
    p.add_argument("--jobs", type=positive, default=None, help="evaluations at once (default: one per 2 cores)")
    p.add_argument("--dry-run", action="store_true", help="list the trials and which are recorded; run nothing")
    p.add_argument("--executor", default="local", choices=["local", "slurm", "submitit-local", "submitit-debug"],
                   help="local (default): child processes here; slurm: submitit jobs (pre-training, then an array "
                        "of evaluations depending on it); submitit-local/-debug: the same jobs on this machine")
    p.add_argument("--cluster", default=None, help="YAML with the jobs' resources: sections pretrain and evaluate "
                                                   "(partition, account, nodes, gpus_per_node, tasks_per_node, "
                                                   "cpus_per_task, mem_gb, timeout_min, array_parallelism, ...)")
    p.add_argument("--status", action="store_true", help="what is recorded, and the submitted jobs' states; run nothing")
    p.add_argument("--verify", type=positive, nargs="?", const=2, default=None, metavar="N",
                   help="re-run N (default 2) of the trials DenseBench ships for the table (leaderboards/measured/) "
                        "into your store and say, trial by trial, whether each lands within its bounds; exit 1 if not")
    p.add_argument("--results-root", default=None)
    p.add_argument("--data-root", default=None)
    p.set_defaults(fn=_sweep)


def _sweep(args: argparse.Namespace) -> None:
    from harness.errors import BenchError
    from app import sweep
    from leaderboards.published import resolve
    if args.tasks and not (args.method or args.checkpoint):
        raise BenchError("--tasks: with --method M or --checkpoint FILE (whose standing on every task it shows)")
    table = sweep.tasks_table(args.tasks) if args.tasks else resolve(args.table)
    if args.recipe and not args.method:
        raise BenchError("--recipe: only with --method (a row of your own method)")
    if args.label and not args.checkpoint:
        raise BenchError("--label: only with --checkpoint (the row's name for that file)")
    if (args.method or args.checkpoint) and (args.executor != "local" or args.verify is not None):
        raise BenchError("--method / --checkpoint: a row of your own runs here (--executor local), not with "
                         f"{'--verify' if args.verify is not None else '--executor ' + args.executor}")
    if args.checkpoint:  # a missing or foreign file: one line, before anything runs
        from harness.checkpoint import open_checkpoint
        named = open_checkpoint(args.checkpoint).meta.get("method")
        if args.label and named and args.label != named:
            # records name a checkpoint by the method its metadata holds (bench run --checkpoint)
            raise BenchError(f"--label {args.label}: {args.checkpoint} names itself '{named}' in its metadata, which its "
                             f"records keep; give --label {named}, or import the weights under your name "
                             f"(`bench import --method {args.label} ...`)")
        args.label = args.label or named
    if args.cluster and args.executor == "local":
        raise BenchError(f"--cluster {args.cluster}: applies to the submitit executors (--executor slurm, "
                         "submitit-local, submitit-debug), not to local")
    if args.verify is not None:
        if args.executor != "local" or args.status:
            raise BenchError(f"--verify runs here, one trial after another: not with "
                             f"{'--status' if args.status else '--executor ' + args.executor}")
        _verify(args, table)
        return
    if args.executor != "local" and not (args.dry_run or args.status):
        from app.sweep_submit import check_executor
        check_executor(args.executor, args.cluster)  # before anything is planned or written
    trials = sweep.plan(table, args.scale, args.seeds, args.method, args.recipe, args.checkpoint, args.label)
    from harness.files import home
    jobs_dir = home() / "sweeps" / f"{table.id}-{args.scale}-jobs"
    if args.dry_run or args.status:
        done = [sweep.recorded(t, args.scale, args.results_root, args.data_root) for t in trials]
        for t, d in zip(trials, done):
            print(f"{'recorded' if d else 'pending ':<8}  {t.method}/{t.recipe or 'checkpoint'} seed {t.seed}  "
                  f"{t.task}/{t.protocol}")
        print(f"{sum(done)} of {len(trials)} trials recorded")
        if args.status:
            _print_jobs(jobs_dir)
        return
    from harness import store
    store.check_writable(store.results_root(args.results_root))  # before any pre-training
    if args.executor != "local":
        _submit(args, trials, jobs_dir)
        return
    log = home() / "sweeps" / f"{table.id}-{args.scale}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    jobs = args.jobs or max(1, cpu_count() // 2)
    t0 = time.monotonic()
    r = sweep.run(trials, args.scale, jobs, args.results_root, args.data_root, log)
    print(f"{r['trials']} trials: {r['skipped']} recorded before, {r['ran']} run, {len(r['failed'])} failed "
          f"in {(time.monotonic() - t0) / 60:.1f} min of wall time (log: {log})")
    for f in r["failed"]:
        print(f"  failed: bench {f}")
    from app.cli.table import print_table
    print_table(table, args.scale, args.results_root)
    if r["failed"]:
        raise BenchError(f"{len(r['failed'])} trials failed; see {log}")


def _verify(args: argparse.Namespace, table) -> None:
    from app.verify import plan_verify, run_verify
    from harness import store
    from harness.errors import BenchError
    from harness.files import home
    if args.dry_run:
        print("\n".join(plan_verify(table, args.scale, args.verify)[1]))
        return
    store.check_writable(store.results_root(args.results_root))  # before any pre-training
    log = home() / "sweeps" / f"{table.id}-{args.scale}-verify.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    lines, outside = run_verify(table, args.scale, args.verify, args.jobs or max(1, cpu_count() // 2),
                                args.results_root, args.data_root, log)
    print("\n".join(lines) + f"\n(verified in {(time.monotonic() - t0) / 60:.1f} min of wall time; log: {log})")
    if outside:
        raise BenchError(f"--verify: {outside} checks of table '{args.table}' landed outside their bounds (listed above)")


def _submit(args: argparse.Namespace, trials: list, jobs_dir) -> None:
    from harness.errors import BenchError
    from harness.runs import checkpoint_path
    from app import sweep, sweep_submit
    cluster = sweep_submit.check_executor(args.executor, args.cluster)
    pending = [t for t in trials if not sweep.recorded(t, args.scale, args.results_root, args.data_root)]
    common = [*(["--results-root", str(args.results_root)] if args.results_root else []),
              *(["--data-root", str(args.data_root)] if args.data_root else [])]
    groups: dict = {}
    for t in pending:
        groups.setdefault((t.method, t.recipe, t.seed), []).append([*t.run_args(args.scale), *common])
    needed = {g for g in groups if not checkpoint_path(g[0], g[1], g[2], args.data_root).exists()}
    man = sweep_submit.submit(groups, needed, args.executor, cluster, jobs_dir, args.data_root)
    n_pre = len(needed)
    print(f"{len(trials)} trials: {len(trials) - len(pending)} recorded before; submitted {n_pre} pre-trainings and "
          f"{len(pending)} evaluations ({args.executor}; jobs and logs in {jobs_dir})")
    if args.executor == "slurm":
        print(f"follow with: bench sweep --table {args.table} --scale {args.scale} --status")
        return
    failed = [j for j in man["jobs"] if j.get("error")]
    for j in failed:
        print(f"  failed: bench {' '.join(j['args'])}: {j['error']}")
    from app.cli.table import print_table
    print_table(args.table, args.scale, args.results_root)
    if failed:
        raise BenchError(f"{len(failed)} jobs failed; their logs are in {jobs_dir}")


def _print_jobs(jobs_dir) -> None:
    from app.sweep_submit import status
    jobs = status(jobs_dir)
    if not jobs:
        print(f"no submitted jobs ({jobs_dir / 'manifest.json'} absent)")
        return
    for j in jobs:
        print(f"job {j['job_id']:<12} {j['state']:<10} bench {' '.join(j['args'][:3])} ...")
