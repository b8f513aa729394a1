"""The one error type users see: a one-line message naming the file or argument and what was expected."""
from __future__ import annotations


class BenchError(Exception):
    """A user-facing error. The CLI prints `bench: <message>` (one line) and exits with status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # always one line
