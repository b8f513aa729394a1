"""`bench compare A B [--table ID | --task T [--protocol P]]`: per column, the paired per-seed
differences of A and B, a bootstrap interval, Welch's test, the effect size, and one sentence
(leaderboards.compare). A and B: methods, recipes (`pixpro/mini@v3`) or checkpoints (weights hash)."""
from __future__ import annotations

import argparse

from harness.scales import SCALES


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="is A better than B here, and how sure is that (paired seeds, Welch, effect size)")
    p.add_argument("a", metavar="A", help="a method, a recipe (method/recipe@vN) or a checkpoint's weights hash (8+ hex digits)")
    p.add_argument("b", metavar="B", help="the same kinds as A")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--table", help="the columns of a paper table (see `bench table ls`) or of your table file (.yaml)")
    g.add_argument("--task", help="one task: its headline metrics")
    p.add_argument("--protocol", default=None, help="with --task: protocol id (default: the task's default)")
    p.add_argument("--scale", default="mini", choices=SCALES, help="records of this scale (default mini)")
    p.add_argument("--no-shipped", dest="shipped", action="store_false",
                   help="leave out the records DenseBench ships (read beside yours by default)")
    p.add_argument("--results-root", default=None)
    p.set_defaults(fn=_compare)


def _compare(args: argparse.Namespace) -> None:
    from harness.errors import BenchError, did_you_mean
    from harness.registry import TASKS
    from leaderboards.compare import ColumnSpec, compare, render
    from leaderboards.shipped import table_records
    if args.protocol and not args.task:
        raise BenchError("--protocol: only with --task (a table names its columns' protocols)")
    if args.a == args.b:
        raise BenchError(f"A and B are both '{args.a}': nothing to compare")
    if args.table:
        from leaderboards.published import resolve
        t = resolve(args.table)
        cols = [ColumnSpec(c.header, c.task, c.protocol, TASKS.protocol(c.task, c.protocol).version, c.metric,
                           TASKS.card(c.task).direction().get(c.metric, True)) for c in t.columns if c.measured]
        if not cols:
            raise BenchError(f"--table {args.table}: no column DenseBench measures ({t.id} has published values only)")
        where = f"--table {args.table}"
        rerun = " && ".join(f"bench sweep --table {args.table} {_side_args(s, '--label')} --scale {args.scale} --seeds 0-{{last}}"
                            for s in (args.a, args.b))
    else:
        if args.task not in TASKS.names():
            raise BenchError(f"--task: unknown task '{args.task}'{did_you_mean(args.task, TASKS.names())} (see `bench ls`)")
        proto, card = TASKS.protocol(args.task, args.protocol), TASKS.card(args.task)
        cols = [ColumnSpec(m.name, args.task, proto.id, proto.version, m.name, m.higher_is_better) for m in card.metrics]
        where = f"--task {args.task} ({proto.full_id})"
        rerun = " && ".join(f"bench run {_side_args(s, '--method')} --task {args.task} --protocol {proto.id} --scale {args.scale} "
                            f"--seeds 0-{{last}}" for s in (args.a, args.b))
    records = table_records(args.results_root, shipped=args.shipped)
    print(render(args.a, args.b, compare(records, args.a, args.b, cols, args.scale, where), rerun), end="")


def _side_args(side: str, name_flag: str) -> str:
    """`bench run` / `bench sweep --table` arguments that re-run one side; a side that is no registered
    method is a checkpoint, named by its file (left to the user) and `name_flag` (--method / --label)."""
    from harness.registry import METHODS
    from leaderboards.compare import _RECIPE
    m = _RECIPE.match(side)
    if m:
        return f"--method {m['method']} --recipe {m['recipe']}"
    return f"--method {side}" if side in METHODS.names() else f"--checkpoint <its file> {name_flag} {side}"
