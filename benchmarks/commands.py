"""`bench davis-score`: registered through the `densebench.commands` entry points (argparse only here;
the scorer is imported when the command runs)."""
from __future__ import annotations

import argparse

from harness.args import positive


def add_davis_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("davis-score", help="DAVIS-2017 semi-supervised J&F of a directory of predictions")
    p.add_argument("--davis-root", required=True, help="DAVIS-2017 root (JPEGImages/, Annotations/, ImageSets/)")
    p.add_argument("--results", required=True, help="predictions: <results>/<sequence>/<frame>.png (indexed)")
    p.add_argument("--set", default="val", help="ImageSets/2017/<set>.txt (default val)")
    p.add_argument("--workers", type=positive, default=None, help="processes (default: all cores)")
    p.set_defaults(fn=_davis_score)


def _davis_score(args: argparse.Namespace) -> None:
    from benchmarks.davis_score import evaluate, write_csvs
    glob, rows = evaluate(args.davis_root, args.results, args.set, args.workers)
    g, s = write_csvs(args.results, args.set, glob, rows)  # always recomputed: never a stale CSV
    print("  ".join(f"{k} {v:.3f}" for k, v in glob.items()))
    print(f"wrote {g} and {s}")
