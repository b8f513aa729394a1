"""One registry per extension point (methods, tasks), with did-you-mean errors and entry-point plugins.

A plugin outside the repo registers through the entry-point groups `densebench.methods` and
`densebench.tasks`: the entry point names a class (or factory) that is called with no arguments
and returns an object with the same attributes as the built-ins (`name`, `description`, ...).
"""
from __future__ import annotations

import difflib
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

from harness.errors import BenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> factory. `kind` is the word used in errors ("method", "task")."""

    def __init__(self, kind: str, group: str, builtins: Callable[[], None]) -> None:
        self.kind, self.group = kind, group
        self._builtins = builtins
        self._items: dict[str, Callable[[], T]] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[Callable[[], T]], Callable[[], T]]:
        """Decorator: `@METHODS.register("pixpro")` on a class or factory."""
        def deco(factory: Callable[[], T]) -> Callable[[], T]:
            if name in self._items:
                raise BenchError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = factory
            return factory
        return deco

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self._builtins()
        for ep in entry_points(group=self.group):
            if ep.name not in self._items:
                self._items[ep.name] = ep.load()

    def names(self) -> list[str]:
        self._load()
        return sorted(self._items)

    def get(self, name: str) -> T:
        """Instantiate `name`, or raise a one-line error with a did-you-mean suggestion."""
        self._load()
        if name not in self._items:
            close = difflib.get_close_matches(name, self._items, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise BenchError(f"unknown {self.kind} '{name}'{hint} (known: {', '.join(self.names())})")
        return self._items[name]()

    def __iter__(self) -> Iterator[T]:
        return (self.get(n) for n in self.names())


def _load_methods() -> None:
    import pretrainers  # noqa: F401  (registers the built-in methods)


def _load_tasks() -> None:
    import benchmarks  # noqa: F401  (registers the built-in tasks)


METHODS: Registry = Registry("method", "densebench.methods", _load_methods)
TASKS: Registry = Registry("task", "densebench.tasks", _load_tasks)
