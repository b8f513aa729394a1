"""`bench results` (rebuild the index, list runs) and `bench leaderboard` (one protocol side by side)."""
from __future__ import annotations

import argparse

from harness.scales import SCALES


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("results", help="rebuild the SQLite index from the records and list runs")
    p.add_argument("--results-root", default=None)
    p.set_defaults(fn=_results)

    p = sub.add_parser("leaderboard", help="results of one protocol side by side, mean +- std over seeds")
    p.add_argument("--task", required=True)
    p.add_argument("--scale", default=None, choices=SCALES)
    p.add_argument("--profile", dest="scale", choices=SCALES, help=argparse.SUPPRESS)  # the old name
    p.add_argument("--protocol", default=None)
    p.add_argument("--format", default="md", choices=["md", "csv", "json"])
    p.add_argument("--results-root", default=None)
    p.add_argument("--all", action="store_true", help="every recorded metric (per-class IoU, ...), not only the headline ones")
    p.set_defaults(fn=_leaderboard)


def leaderboard_text(task: str, scale: str | None, protocol: str | None, fmt: str, root: str | None,
                     all_metrics: bool = False) -> str:
    from harness import store
    from harness.registry import TASKS
    from leaderboards.table import frame, render, summarise
    card = TASKS.card(task)
    df = frame(store.iter_records(root), task, scale, protocol)
    metrics = card.metric_names
    if all_metrics:  # every metric the records hold (e.g. per-class IoU), headline ones first
        metrics = (*metrics, *sorted(c for c in df.columns if c not in metrics and c not in
                                     ("method", "checkpoint", "protocol", "scale", "seed")))
    return render(summarise(df, metrics), fmt, card.direction())


def _results(args: argparse.Namespace) -> None:
    import sys

    from harness import store
    problems: list[str] = []
    recs = store.iter_records(args.results_root, problems)  # read once: indexed and listed
    db = store.write_index(args.results_root, recs)
    print(f"{db}: {len(recs)} runs indexed" + (f", {len(problems)} malformed records skipped" if problems else ""))
    for p in problems:
        print(f"bench: skipped {p}", file=sys.stderr)
    for r in recs:
        print(f"  {r['task']:<10} {r['protocol_full']:<42} {r['scale']:<6} {r['method']:<10} seed {r['seed']}")


def _leaderboard(args: argparse.Namespace) -> None:
    from harness.protocol import parse_ref
    from harness.registry import TASKS
    TASKS.entry(args.task)
    if args.protocol:
        parse_ref(TASKS.protocols(args.task), args.task, args.protocol)  # another task's, or no such version
    print(leaderboard_text(args.task, args.scale, args.protocol, args.format, args.results_root, args.all))
