"""`bench sweep --table ID [--scale mini] [--seeds 0-2] [--jobs N]`: run what a paper table's measured
rows need (leaderboards.sweep), skipping what is recorded, then print the table."""
from __future__ import annotations

import argparse
import os

from harness.cli.args import positive, seed_list
from harness.recipe import SCALES


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run every (method, task, protocol, seed) a paper table needs, then print it")
    p.add_argument("--table", required=True, help="a paper table (see `bench table ls`)")
    p.add_argument("--scale", default="mini", choices=SCALES, help="recipes and protocols of this scale (default mini)")
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2], help="pre-training = downstream seeds (default 0-2)")
    p.add_argument("--jobs", type=positive, default=None, help="evaluations at once (default: one per 2 cores)")
    p.add_argument("--dry-run", action="store_true", help="list the trials and which are recorded; run nothing")
    p.add_argument("--results-root", default=None)
    p.add_argument("--data-root", default=None)
    p.set_defaults(fn=_sweep)


def _sweep(args: argparse.Namespace) -> None:
    from harness.errors import BenchError, did_you_mean
    from leaderboards import sweep
    from leaderboards.published import all_tables
    tables = all_tables()
    if args.table not in tables:
        raise BenchError(f"--table '{args.table}': unknown{did_you_mean(args.table, tables)} (see `bench table ls`)")
    trials = sweep.plan(tables[args.table], args.scale, args.seeds)
    if args.dry_run:
        for t in trials:
            done = sweep.recorded(t, args.scale, args.results_root, args.data_root)
            print(f"{'recorded' if done else 'pending ':<8}  {t.method}/{t.recipe} seed {t.seed}  {t.task}/{t.protocol}")
        return
    from harness.config import home
    log = home() / "sweeps" / f"{args.table}-{args.scale}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    jobs = args.jobs or max(1, len(os.sched_getaffinity(0)) // 2)
    r = sweep.run(trials, args.scale, jobs, args.results_root, args.data_root, log)
    print(f"{r['trials']} trials: {r['skipped']} recorded before, {r['ran']} run, {len(r['failed'])} failed (log: {log})")
    for f in r["failed"]:
        print(f"  failed: bench {f}")
    from harness.cli.table import _table
    _table(argparse.Namespace(id=args.table, scale=args.scale, format="md", results_root=args.results_root))
    if r["failed"]:
        raise BenchError(f"{len(r['failed'])} trials failed; see {log}")
