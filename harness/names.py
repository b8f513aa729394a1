"""Names that become parts of paths, and paths built so that nothing leaves its root.

Every name that ends up in a path (method, recipe, task, protocol, table id, label, scale) is
checked against one pattern where it enters DenseBench: command arguments, checkpoint metadata,
result records, table and recipe files. `inside` is the last line: a path built from a root and
parts that are data (a record's artefact, a run folder) must resolve inside that root.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from harness.errors import BenchError

# a letter or digit first (no '.', '..', hidden or option-like names), then letters, digits, '_', '.', '-'
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
RULE = "letters, digits, '_', '.' and '-', starting with a letter or digit, at most 100 characters"


def check_name(value: object, what: str) -> str:
    """`value` if it is a valid name, else a one-line error: `what` names where it came from
    ("--method", "<file>: metadata method")."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise BenchError(f"{what} {value!r}: not a valid name (expected {RULE})")
    return value


def name_arg(text: str) -> str:
    """argparse type of a name argument (the parser names the argument in its message)."""
    import argparse
    if not NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid name (expected {RULE})")
    return text


def inside(root: str | os.PathLike, rel: str | os.PathLike, what: str) -> Path:
    """root / rel, refused (one line) when rel is absolute, holds a NUL or newline, or resolves
    (links followed) outside root."""
    s = str(rel)
    if not s or "\0" in s or "\n" in s or os.path.isabs(s):
        raise BenchError(f"{what} {s!r}: expected a path relative to {root}")
    base = Path(root).resolve()
    p = (base / s).resolve()
    if p != base and base not in p.parents:
        raise BenchError(f"{what} {s!r}: leads outside {root}")
    return Path(root) / s
