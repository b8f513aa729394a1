"""`bench table ls` and `bench table ID`: a seed paper's table with DenseBench's measured rows beside
the published ones (leaderboards.paper_table)."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from harness.scales import SCALES

if TYPE_CHECKING:
    from leaderboards.published import PaperTable


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("table", help="a paper's table: published rows and DenseBench's measured rows side by side")
    p.add_argument("id", metavar="ID|FILE|ls", help="a paper table (see `bench table ls`), a table file of your own "
                                                    "(path/to/table.yaml, the same schema), or ls")
    p.add_argument("--scale", default="mini", choices=SCALES, help="measured rows of this scale (default mini)")
    p.add_argument("--format", default="md", choices=["md", "csv", "latex", "html"],
                   help="md (default) also prints the rank agreement of the measured rows with the published ones "
                        "(and with paper-scale measured rows): Kendall tau-b, Spearman rho, bootstrap interval, verdict")
    p.add_argument("--all-versions", action="store_true",
                   help="also show rows of recipe versions other than the current one (left out by default: superseded)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--no-shipped", dest="shipped", action="store_const", const="no", default="beside",
                   help="leave out the records DenseBench ships (leaderboards/measured/; read beside yours by default)")
    g.add_argument("--shipped-only", dest="shipped", action="store_const", const="only",
                   help="only the records DenseBench ships, not your store (what the README's tables show)")
    p.add_argument("--results-root", default=None)
    p.set_defaults(fn=_table)


def _table(args: argparse.Namespace) -> None:
    from harness.errors import BenchError, did_you_mean
    from leaderboards.published import all_tables
    tables = all_tables()
    if args.id == "ls":
        for tid, t in tables.items():
            measured = sum(c.measured for c in t.columns)
            print(f"  {tid:<26} {t.table:<32} {len(t.rows):>3} rows, {measured}/{len(t.columns)} columns measurable  {t.paper}")
        return
    if not args.id.endswith((".yaml", ".yml")) and args.id not in tables:
        raise BenchError(f"unknown paper table '{args.id}'{did_you_mean(args.id, tables)} (see `bench table ls`)")
    print_table(args.id, args.scale, args.results_root, args.format, args.all_versions, args.shipped)


def print_table(table_id: "str | PaperTable", scale: str, results_root: str | None, fmt: str = "md", all_versions: bool = False,
                shipped: str = "beside") -> None:
    """Print a paper table (published rows and the measured rows of `scale`: the user's store and,
    shipped='beside' (default), DenseBench's shipped records beside it; 'no': the user's only; 'only':
    the shipped ones only); the rows of recipe versions other than the current one are named on stderr
    (csv / latex / html stay one table)."""
    print(table_text(table_id, scale, results_root, fmt, all_versions, shipped, sys.stderr), end="")


def table_text(table_id: "str | PaperTable", scale: str, results_root: str | None, fmt: str = "md", all_versions: bool = False,
               shipped: str = "beside", notes: TextIO | None = None) -> str:
    """print_table's text; what it leaves out is written to `notes` (if given)."""
    from leaderboards.agreement import render_md, table_agreement
    from leaderboards.paper_table import lines_for, render
    from leaderboards.published import resolve
    from leaderboards.shipped import provenance, table_records
    t = resolve(table_id) if isinstance(table_id, str) else table_id
    left_out: list[str] = []
    records = table_records(results_root, shipped=shipped != "no", own=shipped != "only")
    lines = lines_for(t, records, scale, all_versions, left_out)
    out = [render(t, lines, scale, fmt)]
    if fmt == "md":  # the rank agreement (csv / latex / html stay one table; the report draws it)
        headers = {c.id: c.header for c in t.columns}
        out.append("\n" + render_md(table_agreement(t, lines, scale), headers))
        if scale != "paper":
            paper = lines_for(t, records, "paper", all_versions)
            if any(ln.kind == "measured (paper)" for ln in paper):
                out.append("\n" + render_md(table_agreement(t, lines, scale, paper, "paper"), headers))
        if any("shipped" in ln.origin for ln in lines):
            out.append("\n" + "".join(f"- {p}\n" for p in provenance(r for ln in lines for r in ln.records)))
    if left_out and notes is not None:
        print(f"left out, not the current version of their recipe: {', '.join(left_out)} (--all-versions shows them)",
              file=notes)
    return "".join(out)
