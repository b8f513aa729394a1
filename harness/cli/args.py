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
