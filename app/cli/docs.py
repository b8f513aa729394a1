"""`bench docs [--check]`: regenerate the measured tables in README.md and docs/*.md from the shipped
store (app.docs); --check only says which differ (exit 1)."""
from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("docs", help="(maintainers) regenerate the README's measured tables from the shipped store")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each document whose tables differ")
    p.set_defaults(fn=_docs)


def _docs(args: argparse.Namespace) -> None:
    from app.docs import stale
    from harness.errors import BenchError
    from harness.files import atomic_write_text
    todo = stale()
    if args.check:
        if todo:
            raise BenchError(f"generated tables differ from the shipped records in {', '.join(map(str, todo))} "
                             "(run `bench docs`)")
        print("generated tables up to date")
        return
    for path, text in todo.items():
        atomic_write_text(path, text)
        print(f"rewrote the generated tables of {path}")
    if not todo:
        print("generated tables up to date")
