"""`bench ship --table ID [--scale mini]`: copy the records a paper table's measured rows use from your
store into DenseBench's shipped reference store (leaderboards/measured/), for a maintainer to commit
(app.ship)."""
from __future__ import annotations

import argparse

from harness.scales import SCALES


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ship", help="(maintainers) copy a paper table's records from your store into the shipped "
                                    "store leaderboards/measured/, to commit")
    p.add_argument("--table", required=True, help="a paper table (see `bench table ls`)")
    p.add_argument("--scale", default="mini", choices=SCALES, help="records of this scale (default mini)")
    p.add_argument("--results-root", default=None, help="the store you measured into (default: yours)")
    p.set_defaults(fn=_ship)


def _ship(args: argparse.Namespace) -> None:
    from app.ship import ship
    from harness.errors import BenchError, did_you_mean
    from leaderboards.published import all_tables
    from leaderboards import shipped
    tables = all_tables()
    if args.table not in tables:
        raise BenchError(f"--table '{args.table}': unknown{did_you_mean(args.table, tables)} (see `bench table ls`)")
    written = ship(tables[args.table], args.scale, args.results_root)
    print(f"{len(written)} records of {args.table} ({args.scale}) in {shipped.SHIPPED_ROOT} (commit them; "
          "`bench docs` regenerates the README's tables)")
