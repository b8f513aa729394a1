"""`bench ship --table ID`: copy the records a paper table's measured rows use from your store into
DenseBench's shipped reference store (leaderboards/measured/), for a maintainer who measured them to
commit. Only record.json files travel (no artefacts), byte for byte, each at the path it had in the
store (`<task>/<protocol>@<v>/<scale>/<run>/record.json`); a shipped record of the same trial
(leaderboards.trials.trial_key) is replaced. Every record must name the machine it was measured on
(records since 2026-12-07 do): a shipped row states its CPU, torch version, threads and date.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from harness import store
from harness.errors import BenchError
from harness.files import atomic_write_bytes
from leaderboards.published import PaperTable
from leaderboards import shipped
from leaderboards.trials import trial_key

PROVENANCE = ("machine", "versions", "torch_threads", "created")


def table_records(table: PaperTable, scale: str, results_root: str | None) -> list[dict[str, Any]]:
    """The records of the user's store that the table's current measured rows pool (with `_path`):
    the rows of the paper's methods only (a method of one's own on the table's columns is not shipped)."""
    from leaderboards.paper_table import lines_for
    recs = store.iter_records(results_root, with_paths=True)
    methods = {r.method for r in table.rows if r.method}
    lines = [ln for ln in lines_for(table, recs, scale) if ln.method in methods]
    return list({r["_path"]: r for ln in lines for r in ln.records}.values())


def ship(table: PaperTable, scale: str, results_root: str | None, dest: Path | None = None) -> list[Path]:
    """Copy the table's records into `dest` (default: the shipped store); returns the files written.
    Everything is checked first: an error leaves `dest` as it was."""
    dest = shipped.SHIPPED_ROOT if dest is None else dest
    src = store.results_root(results_root)
    if src.resolve() == dest.resolve():
        raise BenchError(f"--results-root {src}: is the shipped store itself (name the store you measured into)")
    recs = table_records(table, scale, results_root)
    if not recs:
        raise BenchError(f"--table {table.id}: your store {src} holds no {scale} record of its measured columns "
                         f"at their current versions (run `bench sweep --table {table.id} --scale {scale}` first)")
    for r in recs:
        missing = [k for k in PROVENANCE if not r.get(k)] + ([] if (r.get("versions") or {}).get("torch") else ["torch version"])
        if missing:
            raise BenchError(f"{r['_path']}: lacks {', '.join(missing)} (a shipped record states the machine it was "
                             "measured on: re-run the trial with this DenseBench)")
    old = {trial_key(r): Path(r["_path"]).parent for r in shipped.shipped_records(dest)}
    plan = [(Path(r["_path"]), dest / Path(r["_path"]).relative_to(src), old.get(trial_key(r))) for r in recs]
    written = []
    for path, target, replaced in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, path.read_bytes())
        written.append(target)
        if replaced is not None and replaced != target.parent:
            shutil.rmtree(replaced)
    return written
