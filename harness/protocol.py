"""Tasks' protocols and cards as versioned data, read without importing the task.

A task's folder `<package>/protocols/<task>/` holds
- `_task.yaml`: the task card: `task`, `description`, `metrics` (each `{name, higher_is_better,
  unit}`, headline metrics in leaderboard order; `unit` one of UNITS, the range a recorded value
  must lie in, or the record is refused as corrupt), `uses_seed` (false for a deterministic task: its runs
  with different seeds are one number, not several), `schema` (`module:Class`, the dataclass of
  its protocols' settings, in a module that imports nothing heavy: benchmarks/protocol_schemas.py);
- `<id>.yaml`, one per protocol: `id`, `version`, `description`, `source`, `default`, then
  `paper` (the published recipe, unchanged) and `mini` (overrides deep-merged over `paper` for the
  CPU-sized synthetic run). `mini.expected` holds the bounds of the headline metric of full mini
  runs at seed 0 for `mocov2` and `random` (checked by the slow tests), not part of the config.
  Both `paper` and `paper` + `mini` are read strictly into the card's schema when the protocols are
  listed: an unknown, misspelled or missing key is a one-line error naming the file and key.

A result is comparable only to results of the same `<task>/<id>@<version>` and scale.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.errors import BenchError, did_you_mean
from harness.recipe import SCALES
from harness.schema import deep_merge, parse, read_yaml


# a metric's unit -> the closed range its values lie in (records outside it are corrupt: harness.store)
UNITS = {"percent": (0.0, 100.0), "fraction": (0.0, 1.0), "nonnegative": (0.0, float("inf")),
         "real": (float("-inf"), float("inf"))}


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: Literal["percent", "fraction", "nonnegative", "real"]
    higher_is_better: bool = True

    @property
    def range(self) -> tuple[float, float]:
        return UNITS[self.unit]


@dataclass(frozen=True)
class TaskCard:
    task: str
    description: str
    metrics: tuple[MetricSpec, ...]
    schema: str                 # module:Class of the protocols' settings (read strictly)
    uses_seed: bool = True
    file: str = ""

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    def direction(self) -> dict[str, bool]:
        return {m.name: m.higher_is_better for m in self.metrics}


@dataclass(frozen=True)
class Expected:
    """Bounds [low, high] of `metric` for full mini runs at seed 0 (Detectron2's EXPECTED_RESULTS idea)."""
    metric: str
    mocov2: tuple[float, ...]
    random: tuple[float, ...]


@dataclass(frozen=True)
class Protocol:
    task: str
    id: str
    version: int
    description: str
    source: str
    default: bool
    spec: dict[str, Any]  # the whole file
    file: str = ""
    schema: type | None = None  # the task card's dataclass of the settings (benchmarks/protocol_schemas.py)

    @property
    def full_id(self) -> str:
        return f"{self.task}/{self.id}@{self.version}"

    def resolved(self, scale: str) -> dict[str, Any]:
        """The settings of `scale`: `paper` as published, `mini` = paper updated by the mini overrides."""
        if scale not in SCALES:
            raise BenchError(f"--scale '{scale}' is not one of {', '.join(SCALES)}")
        paper = self.spec["paper"]
        if scale == "paper":
            return deep_merge(paper, {})
        return deep_merge(paper, {k: v for k, v in (self.spec.get("mini") or {}).items() if k != "expected"})

    def settings(self, scale: str, overrides: dict[str, Any] | None = None) -> Any:
        """The settings of `scale` (updated by `overrides`) read strictly into the schema: typed
        attributes, framework subtrees as dicts. An unknown or missing key is a one-line error."""
        if self.schema is None:
            raise BenchError(f"{self.file}: no schema to read the settings into (the task card names none)")
        where = (f"{self.file}: {scale}{' (paper updated by mini)' if scale == 'mini' else ''}"
                 f"{' + overrides' if overrides else ''}")
        return parse(self.schema, deep_merge(self.resolved(scale), overrides or {}), where)

    def expected(self) -> Expected | None:
        raw = (self.spec.get("mini") or {}).get("expected")
        return None if raw is None else parse(Expected, raw, f"{self.file}: mini.expected")


def load_task_card(folder: Path, task: str) -> TaskCard:
    f = folder / "_task.yaml"
    if not f.is_file():
        raise BenchError(f"{f}: missing (the card of task '{task}': task, description, metrics)")
    card = parse(TaskCard, read_yaml(f, "a task card"), str(f))
    if card.task != task:
        raise BenchError(f"{f}: task '{card.task}' differs from the registered name '{task}'")
    return dataclasses.replace(card, file=str(f))


_PROTOCOL_KEYS = ("id", "version", "default", "description", "source", "paper", "mini")


def schema_class(card: TaskCard) -> type:
    """The dataclass a task card names as its protocols' schema (imported by name: its module must be light)."""
    import importlib
    mod, _, attr = card.schema.partition(":")
    try:
        cls = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError, ValueError) as e:
        raise BenchError(f"{card.file}: schema '{card.schema}' cannot be loaded ({type(e).__name__}: {e}); "
                         "expected module:Class of a dataclass") from e
    if not dataclasses.is_dataclass(cls):
        raise BenchError(f"{card.file}: schema '{card.schema}' is not a dataclass")
    return cls


def load_protocols(folder: Path, task: str, schema: type | None = None) -> dict[str, Protocol]:
    """Every protocol file of a task, by id. A malformed file is a one-line error naming it; with a
    schema, both scales' settings are read strictly into it."""
    out = {}
    for f in sorted(folder.glob("*.yaml")):
        if f.name.startswith("_"):
            continue
        d = read_yaml(f, "a protocol file (id, version, description, source, paper)")
        try:
            p = Protocol(task, d["id"], int(d["version"]), d["description"], d["source"], bool(d.get("default")), d,
                         str(f), schema)
            if not isinstance(d["paper"], dict) or not isinstance(d.get("mini") or {}, dict):
                raise TypeError("'paper' or 'mini' is not a mapping")
        except (KeyError, TypeError, ValueError) as e:
            raise BenchError(f"{f}: malformed protocol file ({type(e).__name__}: {e}); "
                             "expected id, version, description, source, paper") from e
        unknown = [k for k in d if k not in _PROTOCOL_KEYS]
        if unknown:
            raise BenchError(f"{f}: {unknown[0]}: unknown key{did_you_mean(unknown[0], _PROTOCOL_KEYS)} "
                             f"(expected one of {', '.join(_PROTOCOL_KEYS)})")
        from harness.names import check_name
        check_name(p.id, f"{f}: id")  # protocol ids become parts of result folders' names
        if p.id != f.stem:
            raise BenchError(f"{f}: protocol id '{p.id}' differs from the file name '{f.stem}'")
        if schema is not None:
            p.settings("paper")
            p.settings("mini")
            p.expected()
        out[p.id] = p
    if not out:
        raise BenchError(f"task '{task}' has no protocol files under {folder}")
    return out


def pick_protocol(protocols: dict[str, Protocol], task: str, ref: str | None) -> Protocol:
    """The protocol named by `ref` (`id`, `id@version` or `task/id@version`), or the task's default.

    A version other than the current one is an error: results of older versions stay in the store,
    labelled, but a new run always follows the current file."""
    if ref is None:
        defaults = [p for p in protocols.values() if p.default]
        return defaults[0] if defaults else next(iter(protocols.values()))
    name = ref.split("/")[-1]
    pid, _, version = name.partition("@")
    if "/" in ref and ref.split("/")[0] != task:
        raise BenchError(f"--protocol '{ref}' belongs to task '{ref.split('/')[0]}', not '{task}'")
    if pid not in protocols:
        raise BenchError(f"task '{task}' has no protocol '{pid}'{did_you_mean(pid, protocols)} "
                         f"(has: {', '.join(protocols)})")
    p = protocols[pid]
    if version:
        if not version.isdigit():
            raise BenchError(f"--protocol '{ref}': version '{version}' is not a number (expected {pid}@{p.version})")
        if int(version) != p.version:
            raise BenchError(f"--protocol '{ref}': {task}/{pid} is at version {p.version}; version {version} is "
                             f"not the current one (older versions' results stay in the store; run @{p.version})")
    return p


def parse_ref(protocols: dict[str, Protocol], task: str, ref: str) -> tuple[str, int | None]:
    """(id, version or None) of a `--protocol` that selects records (`id`, `id@V`, `task/id@V`): the id
    must be one of the task's, the version a number; an older version is honoured (its records stay
    in the store), unlike pick_protocol, which only runs the current one."""
    head, _, name = ref.rpartition("/")
    if head and head != task:
        raise BenchError(f"--protocol '{ref}' belongs to task '{head}', not '{task}'")
    pid, _, version = name.partition("@")
    if pid not in protocols:
        raise BenchError(f"task '{task}' has no protocol '{pid}'{did_you_mean(pid, protocols)} "
                         f"(has: {', '.join(protocols)})")
    if version and (not version.isdigit() or not 1 <= int(version) <= protocols[pid].version):
        raise BenchError(f"--protocol '{ref}': version '{version}' is not one of {pid}'s (1 to "
                         f"{protocols[pid].version})")
    return pid, int(version) if version else None
