"""Lazy, typed registries of methods and tasks, filled from entry points.

DenseBench's own methods and tasks register exactly as a plugin does, in pyproject.toml:

    [project.entry-points."densebench.methods"]   mocov2 = "pretrainers.mocov2:MoCoV2"
    [project.entry-points."densebench.tasks"]     coco_det = "benchmarks.detectron2_det:Detectron2Det"

Listing reads the entry points and the data files beside each implementation, never the
implementation itself: a method's card and recipes are `<module folder>/recipes/<name>.yaml`; a
task's card and protocols are `<module folder>/protocols/<name>/`. The module named by the entry
point is imported only by `load`, when the method or task runs. Nothing here imports torch.
"""
from __future__ import annotations

import functools
from abc import ABC, abstractmethod
import importlib
import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from harness.errors import BenchError, did_you_mean


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    attr: str

    @property
    def target(self) -> str:
        return f"{self.module}:{self.attr}"


def module_folder(module: str) -> Path:
    """The folder holding `module`'s file (for a package, its own folder), found without importing it
    or its parent packages."""
    parts = module.split(".")
    spec = importlib.util.find_spec(parts[0])  # a top-level name: located, not executed
    if spec is None:
        raise BenchError(f"module '{module}' is not installed (named by a densebench entry point)")
    if len(parts) == 1:
        return Path(spec.origin).parent
    for loc in spec.submodule_search_locations or []:
        base = Path(loc).joinpath(*parts[1:-1])
        if (base / parts[-1] / "__init__.py").is_file():
            return base / parts[-1]
        if (base / f"{parts[-1]}.py").is_file():
            return base
    raise BenchError(f"module '{module}' is not found (named by a densebench entry point)")


class Registry(ABC):
    """name -> entry point of one group; `kind` is the word used in errors ("method", "task")."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind, self.group = kind, group

    @functools.cached_property
    def _entries(self) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        from harness.names import check_name
        for ep in entry_points(group=self.group):
            check_name(ep.name, f"{self.kind} entry point ({ep.value})")  # names become parts of paths
            e = Entry(ep.name, ep.module, ep.attr)
            if ep.name in out and out[ep.name] != e:
                raise BenchError(f"{self.kind} '{ep.name}' is registered twice ({out[ep.name].target} and {e.target})")
            out[ep.name] = e
        if not out:
            raise BenchError(f"no {self.kind}s registered under the entry-point group '{self.group}': DenseBench is "
                             "not installed in this Python (run scripts/bootstrap.sh)")
        return out

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entry(self, name: str) -> Entry:
        """The entry of `name`, or a one-line error with a did-you-mean suggestion."""
        if name not in self._entries:
            hint = did_you_mean(name, self._entries, cutoff=0.5)
            raise BenchError(f"unknown {self.kind} '{name}'{hint} (known: {', '.join(self.names())})")
        return self._entries[name]

    def folder(self, name: str) -> Path:
        return module_folder(self.entry(name).module)

    def load(self, name: str) -> Any:
        """Import the implementation and return an instance with `name` and `card` set."""
        e = self.entry(name)
        try:
            cls = getattr(importlib.import_module(e.module), e.attr)
        except (ImportError, AttributeError) as err:
            raise BenchError(f"{self.kind} '{name}': cannot load {e.target} ({type(err).__name__}: {err})") from err
        obj = cls()
        obj.name, obj.card = name, self.card(name)
        return obj

    @abstractmethod
    def card(self, name: str) -> Any:
        """The data file(s) of `name`, read without importing its module."""


class MethodRegistry(Registry):
    @functools.lru_cache(maxsize=None)
    def card(self, name: str):  # -> harness.recipe.MethodCard
        from harness.recipe import load_card
        return load_card(self.folder(name) / "recipes" / f"{name}.yaml", name)


class TaskRegistry(Registry):
    @functools.lru_cache(maxsize=None)
    def card(self, name: str):  # -> harness.protocol.TaskCard
        from harness.protocol import load_task_card
        return load_task_card(self.folder(name) / "protocols" / name, name)

    @functools.lru_cache(maxsize=None)
    def protocols(self, name: str):  # -> dict[str, harness.protocol.Protocol]
        from harness.protocol import load_protocols, schema_class
        return load_protocols(self.folder(name) / "protocols" / name, name, schema_class(self.card(name)))

    def protocol(self, name: str, ref: str | None):  # -> harness.protocol.Protocol
        from harness.protocol import pick_protocol
        return pick_protocol(self.protocols(name), name, ref)


METHODS = MethodRegistry("method", "densebench.methods")
TASKS = TaskRegistry("task", "densebench.tasks")
