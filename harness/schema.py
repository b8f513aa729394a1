"""Data files (recipes, protocols, cards, tables) as typed data: read (YAML, one-line errors), merged,
hashed stably, and parsed strictly into dataclasses.

`parse(cls, data, where)` builds a (frozen) dataclass from a mapping read from YAML: an unknown key,
a missing required key or a value of the wrong type is a one-line error that names the file and the
key path (`pretrainers/recipes/mocov2.yaml: recipes.mini.train.optimzer: unknown key (expected one
of ...)`). Nested dataclasses, `X | None`, lists, tuples and plain dicts are understood. Nothing
here imports torch: listing methods and tasks reads data files only.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

from harness.errors import BenchError, did_you_mean


def read_yaml(path: str | os.PathLike, what: str) -> Any:
    """Parse a YAML data file; a syntax error or unreadable file is a one-line error naming it."""
    import yaml
    try:
        return yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise BenchError(f"{path}: cannot read {what} ({e.strerror or e})") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise BenchError(f"{path}: not valid YAML{at} ({getattr(e, 'problem', None) or type(e).__name__}); "
                         f"expected {what}") from e


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Return base updated recursively with over (dicts merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def stable_hash(obj: Any, n: int = 16) -> str:
    """sha256 of the canonical JSON of obj (sorted keys), first n hex digits."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:n]


T = TypeVar("T")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in (a for a in args if a is not type(None)):
            try:
                return _convert(a, value, where)
            except BenchError as e:
                errors.append(str(e))
        raise BenchError(errors[0] if errors else f"{where}: unexpected value {value!r}")
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, where)
    if tp is Any:
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise BenchError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        item = args[0] if args else Any
        out = [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise BenchError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BenchError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BenchError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise BenchError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise BenchError(f"{where}: expected a string, got {value!r}")
        return value
    if typing.get_origin(tp) is typing.Literal:
        if value not in typing.get_args(tp):
            raise BenchError(f"{where}: {value!r} is not one of {', '.join(map(str, typing.get_args(tp)))}")
        return value
    raise BenchError(f"{where}: cannot read a value of type {_type_name(tp)}")  # a bug in a spec class


def parse(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass `cls` from `data` (a mapping); every key known, every required key present."""
    if not isinstance(data, Mapping):
        raise BenchError(f"{where}: expected a mapping with keys {', '.join(f.name for f in dataclasses.fields(cls))}, "
                         f"got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            raise BenchError(f"{where}.{key}: unknown key{did_you_mean(key, fields)} (expected one of {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise BenchError(f"{where}.{name}: missing (required)")
            continue
        kwargs[name] = _convert(hints[name], data[name], f"{where}.{name}")
    return cls(**kwargs)


def to_data(obj: Any) -> Any:
    """The plain-data form of a parsed structure (dataclasses -> dicts, tuples -> lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_data(v) for k, v in obj.items()}
    return obj
