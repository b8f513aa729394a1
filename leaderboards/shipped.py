"""DenseBench's own measured records, shipped with the repository in a read-only reference store
(`leaderboards/measured/`, the results store's layout: `<task>/<protocol>@<v>/<scale>/<run>/record.json`),
read beside the user's store so that a fresh clone shows measured rows and their agreement with the
papers without running anything.

Beside, not mixed blindly: a trial (leaderboards.trials.trial_key) that the user's store holds is
taken from there, and the shipped record of it is left out (the user's own records win, whatever
their dates). Shipped records carry `_shipped: True`, so a table marks the rows they make. Only the
record files ship (no artefacts: loss logs and pictures stay with the run that made them).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from harness import store
from leaderboards.trials import trial_key

SHIPPED_ROOT = Path(__file__).resolve().parent / "measured"


def shipped_records(root: Path | None = None) -> list[dict[str, Any]]:
    """The shipped store's records, each marked `_shipped` (and with its `_path`). A malformed shipped
    record is a one-line error naming it: the repository itself would be broken."""
    root = SHIPPED_ROOT if root is None else root
    if not root.is_dir():
        return []
    return [{**r, "_shipped": True} for r in store.iter_records(root, with_paths=True)]


def beside(own: Sequence[dict[str, Any]], shipped: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The user's records, then the shipped ones of every trial the user's records do not hold."""
    mine = {trial_key(r) for r in own}
    return [*own, *(r for r in shipped if trial_key(r) not in mine)]


def table_records(results_root: str | None, shipped: bool = True, with_paths: bool = False,
                  own: bool = True, problems: list[str] | None = None) -> list[dict[str, Any]]:
    """What `bench table` and the report read: the user's store (`results_root`, unless own=False)
    and, unless shipped=False, the shipped store beside it."""
    mine = store.iter_records(results_root, problems, with_paths=with_paths) if own else []
    return beside(mine, shipped_records()) if shipped else mine


def origin(records: Sequence[dict[str, Any]]) -> str:
    """'shipped', 'yours' or 'shipped + yours': where a row's records come from."""
    n = sum(bool(r.get("_shipped")) for r in records)
    return "yours" if n == 0 else "shipped" if n == len(records) else "shipped + yours"


def provenance(records: Iterable[dict[str, Any]]) -> list[str]:
    """One line per machine the shipped records among `records` were measured on: the CPU, CPUs, GPU,
    torch version, intra-op threads and the dates (first to last), with the number of records."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        if r.get("_shipped"):
            m = r.get("machine") or {}
            key = (m.get("cpu") or "an unnamed CPU", m.get("cpus"), m.get("gpu"), (r.get("versions") or {}).get("torch"),
                   r.get("torch_threads"))
            groups.setdefault(key, []).append(r)
    out = []
    for (cpu, cpus, gpu, torch, threads), rs in sorted(groups.items(), key=lambda kv: str(kv[0])):
        days = sorted(r["created"][:10] for r in rs)
        span = days[0] if days[0] == days[-1] else f"{days[0]} to {days[-1]}"
        out.append(f"{len(rs)} shipped records: {cpu}" + (f" ({cpus} CPUs)" if cpus else "")
                   + (f", GPU {gpu}" if gpu else ", no GPU") + f", torch {torch or '?'}, "
                   f"{threads if threads is not None else '?'} threads, {span}")
    return out
