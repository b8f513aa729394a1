"""`bench ls`: methods with their recipes, tasks with their protocols (read from data files only)."""
from __future__ import annotations

import argparse

from harness.scales import SCALES


def add(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("ls", help="list methods (with recipes), tasks and protocols").set_defaults(fn=_ls)


def _ls(args: argparse.Namespace) -> None:
    from harness.registry import METHODS, TASKS
    print("methods (bench run --method NAME [--recipe RECIPE]; recipes and their scale in brackets):")
    for name in METHODS.names():
        card = METHODS.card(name)
        recipes = ", ".join(f"{r.name} ({r.scale})" if r.name != r.scale else r.name for r in card.recipes.values())
        print(f"  {name:<12} [{recipes}]  {card.description}")
    print("\ntasks (bench run --task NAME [--protocol ID] [--scale paper|mini]; * = default protocol):")
    for name in TASKS.names():
        print(f"  {name:<15} {TASKS.card(name).description}")
        for p in TASKS.protocols(name).values():
            print(f"    {'*' if p.default else ' '} {p.full_id:<48} [{', '.join(SCALES)}]")
