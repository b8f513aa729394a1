"""`bench report [--out DIR] [--images PNG...]`: the static HTML report of the results store
(leaderboards.report)."""
from __future__ import annotations

import argparse
from pathlib import Path


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="a static HTML site: paper tables, leaderboards, charts, loss curves, pictures")
    p.add_argument("--out", default="densebench-report", help="folder to write (default ./densebench-report)")
    p.add_argument("--images", nargs="*", default=[], help="more PNGs to show (e.g. bench inspect outputs)")
    p.add_argument("--no-shipped", dest="shipped", action="store_false",
                   help="paper tables without the records DenseBench ships (leaderboards/measured/; shown beside yours by default)")
    p.add_argument("--results-root", default=None)
    p.set_defaults(fn=_report)


def _report(args: argparse.Namespace) -> None:
    from leaderboards.report import build_report
    index = build_report(args.out, args.results_root, [Path(p) for p in args.images], args.shipped)
    print(f"report written: {index} (open it in a browser; no server needed)")
