"""`bench doctor`: versions, compiled ops, data root and data sets found. Run it first."""
from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="versions, compiled ops, data root and data sets found")
    p.add_argument("--data-root", default=None)
    p.set_defaults(fn=_doctor)


def _doctor(args: argparse.Namespace) -> None:
    from harness.doctor import report
    print(report(args.data_root))
