"""Up-front validation of a data set, for any layout (harness.data.layout.Layout; no layout is
imported here): `verify` returns the layout's problems with a split (strings naming the file and what
was expected); `require_valid` raises one BenchError that counts them and shows the first, before any
training starts. A data set that passed is remembered (a stamp under $DENSEBENCH_HOME/verified keyed
by the root and the names, sizes and times of its files), so a large real data set is decoded once,
not on every run. `bench data verify --layout L [--root R]` prints the full list. Callers holding a
layout's name use harness.data.require_valid / harness.data.verify."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from harness.files import atomic_write_text, home

from harness.schema import stable_hash
from harness.data.checks import MAX_PROBLEMS
from harness.data.layout import Layout
from harness.errors import BenchError


def verify(layout: Layout, root: str | os.PathLike, split: str) -> list[str]:
    """Every problem of `layout`'s `split` under `root` (at most MAX_PROBLEMS lines)."""
    root = Path(root)
    layout.check_split(split)
    if not root.is_dir():
        return [layout.missing(root, split)]
    return layout.problems(root, split)[:MAX_PROBLEMS]


def _stamp(layout: Layout, root: Path, split: str) -> Path:
    """Where a passed verification is remembered: keyed by every file's name, size and time."""
    listing = sorted((str(p.relative_to(root)), st.st_size, st.st_mtime_ns)
                     for p in root.rglob("*") if p.is_file() for st in [p.stat()])
    key = stable_hash({"layout": layout.name, "root": str(root.resolve()), "split": split, "files": listing})
    return home() / "verified" / f"{layout.name}-{split}-{key}.json"


def require_valid(layout: Layout, root: str | os.PathLike, split: str,
                  check: Callable[..., list[str]] = verify) -> None:
    """Raise one BenchError (count and first problem) unless `split` of the data set is sound."""
    root = Path(root)
    stamp = _stamp(layout, root, split) if root.is_dir() else None
    if stamp is not None and stamp.is_file():
        return
    problems = check(layout, root, split)
    if problems:
        more = f" (and {len(problems) - 1} more: run `bench data verify --layout {layout.name} --root {root} --split " \
               f"{split}`)" if len(problems) > 1 else ""
        raise BenchError(f"{layout.name} {split} data set is not sound: {problems[0]}{more}")
    atomic_write_text(stamp, json.dumps({"layout": layout.name, "root": str(root), "split": split, "ok": True}))


def describe(problems: list[str], layout: str, root: Any, split: str) -> str:
    """The report `bench data verify` prints: one line per problem, then the count."""
    lines = list(problems) + [f"{len(problems)}{'+' if len(problems) >= MAX_PROBLEMS else ''} problem"
                              f"{'' if len(problems) == 1 else 's'} in {layout} {split} under {root}"]
    return "\n".join(lines)
