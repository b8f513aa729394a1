"""`bench doctor`: versions, compiled ops, data root and data sets found. Run it first."""
from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="versions, compiled ops, data root and data sets found")
    p.add_argument("--data-root", default=None)
    p.set_defaults(fn=_doctor)


def _doctor(args: argparse.Namespace) -> None:
    from pathlib import Path

    from harness.doctor import report
    from harness.errors import BenchError
    if args.data_root is not None and not Path(args.data_root).is_dir():
        raise BenchError(f"--data-root {args.data_root}: no such folder (expected the folder holding coco/, "
                         "VOCdevkit/, cityscapes/, ...; without --data-root, doctor reports $DENSEBENCH_DATA)")
    print(report(args.data_root))
