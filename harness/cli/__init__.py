"""`bench`: the DenseBench command line. Run `bench -h` or `bench <command> -h`.

One module per command (harness/cli/<command>.py, each an argparse-only `add(sub)` whose handler
imports what it needs when it runs), plus commands implemented beside a method or task, found
through the `densebench.commands` entry points. Nothing here imports torch or a framework, so
`bench -h`, `bench ls`, `bench leaderboard` and `bench results` answer at once.

Errors are one line, `bench: <what was wrong>`, with exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import entry_points

from harness.cli import convert, data, doctor, inspect, ls, perf, protocol, report, results, run, sweep, table
from harness.errors import BenchError

COMMANDS = (ls, run, convert, data, results, perf, inspect, doctor, protocol, table, sweep, report)


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors take DenseBench's one error path (one line, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BenchError(f"{self.prog}: {message} (see `{self.prog} -h`)")


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="bench", description="DenseBench: pre-train, convert, evaluate, compare.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for cmd in COMMANDS:
        groups.update(cmd.add(sub) or {})
    for ep in sorted(entry_points(group="densebench.commands"), key=lambda e: e.name):
        parent, _, _ = ep.name.rpartition(".")
        if parent and parent not in groups:
            raise BenchError(f"command entry point '{ep.name}' attaches to unknown command '{parent}'")
        ep.load()(groups[parent] if parent else sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        args.fn(args)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bench results | head -1`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
