"""The one error type users see: a one-line message naming the file or argument and what was expected."""
from __future__ import annotations


class BenchError(Exception):
    """A user-facing error. The CLI prints `bench: <message>` (one line) and exits with status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # always one line


def did_you_mean(name: str, options, cutoff: float = 0.6) -> str:  # options: any iterable of names
    """"; did you mean 'x'?" for the closest of `options` to `name`, or "" when none is close."""
    import difflib
    close = difflib.get_close_matches(str(name), list(options), n=1, cutoff=cutoff)
    return f"; did you mean '{close[0]}'?" if close else ""
