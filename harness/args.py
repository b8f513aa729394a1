"""Argument types shared by the commands: one definition, one message, for every command."""
from __future__ import annotations

import argparse

SEED_LIMIT = 2 ** 31  # seeds reach numpy, torch and faiss, whose seeds are 32-bit


def seed(text: str) -> int:
    """A seed: a whole number with 0 <= seed < 2^31."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (expected 0 <= seed < 2^31)") from None
    if not 0 <= v < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"{v} is out of range (expected 0 <= seed < 2^31)")
    return v


def positive(text: str) -> int:
    """A count: a whole number >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (expected >= 1)") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v}: expected a whole number >= 1")
    return v


def seed_list(text: str) -> list[int]:
    """Seeds as 'A-B' (inclusive) or 'a,b,c' (or both: '0-2,7'); each 0 <= seed < 2^31, no repeats."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            a = seed(lo)
            b = seed(hi) if hi else a
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"--seeds {text!r}: {e} (expected e.g. 0-4 or 0,2,5)") from None
        if b < a:
            raise argparse.ArgumentTypeError(f"--seeds {text!r}: range {a}-{b} runs backwards")
        out += range(a, b + 1)
    if len(set(out)) != len(out):
        raise argparse.ArgumentTypeError(f"--seeds {text!r}: a seed is listed twice")
    if len(out) > 1000:
        raise argparse.ArgumentTypeError(f"--seeds {text!r}: {len(out)} trials (expected at most 1000)")
    return out


def out_file(p: argparse.ArgumentParser, default: str, what: str) -> None:
    """--out FILE (default `default`) and --force, for a command that writes one file (`what`): the
    handler checks it with harness.outputs.check_output_file before any work."""
    p.add_argument("--out", default=default, help=f"{what} to write (default {default}; an existing file is replaced "
                   "only if DenseBench wrote it, or with --force)")
    p.add_argument("--force", action="store_true", help="replace an existing --out that DenseBench did not write")
