"""`bench`: the DenseBench command line. Run `bench -h` or `bench <command> -h`.

One module per command (app/cli/<command>.py, each an argparse-only `add(sub)` whose handler
imports what it needs when it runs), plus commands found through the `densebench.commands` entry
points: those implemented beside a method or task, and `sweep` (whose jobs run bench commands: found
by name, so that this module does not import what imports it back). Nothing here imports torch or a framework, so
`bench -h`, `bench ls`, `bench leaderboard` and `bench results` answer at once.

Errors are one line, `bench: <what was wrong>`, with exit status 2. SIGTERM (a scheduler's or
`kill`'s) is handled as Ctrl-C: the same clean-up (staging folders removed, nothing half-written),
one line, exit status 143 (130 for Ctrl-C).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from importlib.metadata import entry_points

from app.cli import compare, convert, data, docs, doctor, inspect, ls, perf, protocol, report, results, run, ship, table
from harness.errors import BenchError

COMMANDS = (ls, run, convert, data, results, perf, inspect, doctor, protocol, table, compare, report, ship, docs)  # + entry points (sweep)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, so that it unwinds like Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


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
    old = None
    if threading.current_thread() is threading.main_thread():
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        args = parser().parse_args(argv)
        args.fn(args)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    except Terminated:
        print("bench: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bench results | head -1`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:  # the last line of defence: a file no check above foresaw, still one line
        name = f"{e.filename}: " if e.filename else ""
        print(f"bench: {name}{e.strerror or e}", file=sys.stderr)
        return 2
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
