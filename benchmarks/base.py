"""Tasks and their protocols. A protocol is data: a versioned YAML file beside the task,
`benchmarks/protocols/<task>/<protocol>.yaml`, with

    id, version, description, source (where the recipe comes from), default (bool),
    paper:  the published recipe (framework config overrides), unchanged;
    mini:   overrides applied on top of `paper` for the CPU-sized synthetic run.

A result is comparable only to results of the same `<task>/<id>@<version>` and profile.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.config import deep_merge
from harness.errors import BenchError

PROTOCOL_DIR = Path(__file__).parent / "protocols"
PROFILES = ("paper", "mini")


@dataclass(frozen=True)
class Protocol:
    task: str
    id: str
    version: int
    description: str
    source: str
    default: bool
    spec: dict[str, Any]  # the whole YAML

    @property
    def full_id(self) -> str:
        return f"{self.task}/{self.id}@{self.version}"

    def resolved(self, profile: str) -> dict[str, Any]:
        """The config of `profile`: `paper` as published, `mini` = paper updated by the mini overrides."""
        if profile not in PROFILES:
            raise BenchError(f"--profile '{profile}' is not one of {', '.join(PROFILES)}")
        paper = self.spec["paper"]
        return paper if profile == "paper" else deep_merge(paper, self.spec.get("mini") or {})


def load_protocols(task: str) -> dict[str, Protocol]:
    """Every protocol file of a task, by id. A malformed file is a one-line error naming it."""
    out = {}
    for f in sorted((PROTOCOL_DIR / task).glob("*.yaml")):
        try:
            d = yaml.safe_load(f.read_text())
            p = Protocol(task, d["id"], int(d["version"]), d["description"], d["source"], bool(d.get("default")), d)
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as e:
            raise BenchError(f"{f}: malformed protocol file ({type(e).__name__}: {e}); "
                             "expected id, version, description, source, paper") from e
        if p.id != f.stem:
            raise BenchError(f"{f}: protocol id '{p.id}' differs from the file name '{f.stem}'")
        out[p.id] = p
    return out


class Task(ABC):
    """A registered downstream evaluation."""
    name: str = ""
    description: str = ""
    metrics: tuple[str, ...] = ()  # the headline metrics, in leaderboard order

    def __init__(self) -> None:
        self.protocols = load_protocols(self.name)
        if not self.protocols:
            raise BenchError(f"task '{self.name}' has no protocol files under {PROTOCOL_DIR / self.name}")

    def protocol(self, pid: str | None) -> Protocol:
        if pid is None:
            return next(p for p in self.protocols.values() if p.default) if any(
                p.default for p in self.protocols.values()) else next(iter(self.protocols.values()))
        pid = pid.split("/")[-1].split("@")[0]
        if pid not in self.protocols:
            import difflib
            close = difflib.get_close_matches(pid, self.protocols, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise BenchError(f"task '{self.name}' has no protocol '{pid}'{hint} (has: {', '.join(self.protocols)})")
        return self.protocols[pid]

    @abstractmethod
    def evaluate(self, checkpoint: Path, protocol: Protocol, profile: str, seed: int, out_dir: Path,
                 data_root: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
        """Fine-tune/evaluate a canonical checkpoint (overrides: deep-merged into the resolved protocol). Returns {"metrics": {...}, "config": resolved
        framework config (dict), "notes": {...}}; metrics are floats keyed like 'bbox/AP'."""
