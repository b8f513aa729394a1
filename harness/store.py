"""The results store: one JSON record per run, and an SQLite index rebuilt from the records.

Records are the source of truth (`<results root>/<task>/<protocol>@<v>/<scale>/<run>/record.json`).
A run is staged in `<results root>/.staging/<run>/` and renamed into place once its record is
written, so a failed or killed run never leaves a folder among the results. `index.sqlite` under
the results root is derived: `rebuild_index` recreates it from the records, so running it twice
gives the same index. Records of format 1 (`profile` for the scale) are read and indexed as format 2.
"""
from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.files import atomic_write_text, home, owner_tag, sweep_dead_staging

from harness.schema import stable_hash
from harness.threads import machine
from harness.errors import BenchError

RECORD_VERSION = 2
STAGING = ".staging"
# A store holding this file is DenseBench's shipped reference store (leaderboards/measured/): read
# beside the user's, never written by a run or an index rebuild (only `bench ship` adds to it).
READ_ONLY_MARKER = ".densebench-shipped"
_PACKAGES = ("torch", "torchvision", "pb1-detectron2", "detectron2", "pycocotools", "numpy", "safetensors",
             "mmsegmentation", "mmcv", "mmcv-lite", "mmengine")


def results_root(root: str | Path | None = None) -> Path:
    r = Path(root or os.environ.get("DENSEBENCH_RESULTS") or home() / "results")
    if r.exists() and not r.is_dir():
        raise BenchError(f"results root {r}: is a file; expected a folder")
    return r


def check_writable(base: Path) -> None:
    """One line if `base` is the shipped reference store (READ_ONLY_MARKER), which runs never write."""
    if (base / READ_ONLY_MARKER).exists():
        raise BenchError(f"results root {base}: DenseBench's shipped reference store, read-only (runs write to "
                         "your own store: leave out --results-root, or name another folder)")


def sweep_staging(base: Path) -> None:
    """Remove staging folders of runs whose process is gone (killed), this host's only."""
    sweep_dead_staging((base / STAGING).glob("*") if (base / STAGING).is_dir() else [])


def stage_run_dir(root: str | Path | None, task: str, protocol: Any, scale: str, method: str, sha: str,
                  seed: int) -> tuple[Path, Path]:
    """(staging folder to run in, final folder it becomes). Both are unique to this run."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # pid + a random token: one process may run the same checkpoint and seed twice within a second
    # (`bench run --seeds 0-2` then `--seed 1`), and two hosts may share a pid.
    from harness.names import check_name, inside
    for value, what in ((method, "method"), (task, "task"), (protocol.id, "protocol"), (scale, "scale")):
        check_name(value, what)
    name = f"{method}-{sha[:8]}-s{seed}-{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
    base = results_root(root)
    check_writable(base)
    sweep_staging(base)
    final = inside(base, f"{task}/{protocol.id}@{protocol.version}/{scale}/{name}", "run folder")
    staged = inside(base, f"{STAGING}/{task}-{name}{owner_tag()}", "staging folder")
    try:
        staged.mkdir(parents=True, exist_ok=False)
    except OSError as e:
        raise BenchError(f"results root {base}: cannot create the run folder {staged} ({e.strerror or e})") from e
    return staged, final


def find_record(root: str | Path | None, task: str, protocol: Any, scale: str, sha: str, seed: int) -> dict[str, Any] | None:
    """The record of an earlier run of the same checkpoint file (sha256), protocol version, scale and
    downstream seed (a run with overrides never counts), or None."""
    base = results_root(root) / task / f"{protocol.id}@{protocol.version}" / scale
    for path in sorted(base.glob(f"*-{sha[:8]}-s{seed}-*/record.json")):
        try:
            rec = read_record(path)
        except BenchError:
            continue  # a damaged record is no trial: it runs again
        if rec["checkpoint_sha256"] == sha and rec["seed"] == seed and rec["protocol_full"] == protocol.full_id:
            return {**rec, "_path": str(path)}
    return None


def publish_run_dir(staged: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, final)


def discard_run_dir(staged: Path) -> None:
    shutil.rmtree(staged, ignore_errors=True)


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def make_record(*, checkpoint: Any, task: str, protocol: Any, scale: str, seed: int, result: Any,
                direction: dict[str, bool], wall_s: float, world_size: int, seed_used: bool = True) -> dict[str, Any]:
    """The record of one run. checkpoint: harness.checkpoint.Checkpoint; result: harness.api.TaskResult.
    `seeds` says which seeds varied the result: the pre-training's (null for an imported file) and the
    downstream run's (null when the task is deterministic: its card's uses_seed is false)."""
    import torch
    meta = checkpoint.meta
    return {"record_version": RECORD_VERSION, "method": meta["method"], "checkpoint": str(checkpoint.path),
            "checkpoint_sha256": checkpoint.file_sha256, "weights_sha256": meta.get("weights_sha256"),
            "pretrain": {k: meta.get(k) for k in ("arch", "epochs", "pretrain_data", "encoder", "recipe",
                                                  "recipe_version", "scale", "config_hash", "seed")},
            "task": task, "protocol": protocol.id, "protocol_version": protocol.version,
            "protocol_full": protocol.full_id, "scale": scale, "seed": seed,
            "seeds": {"pretrain": meta.get("seed"), "downstream": seed if seed_used else None},
            "metrics": result.metrics,
            "higher_is_better": {k: v for k, v in direction.items() if k in result.metrics},
            "artefacts": result.artefacts, "config_hash": stable_hash(result.config), "git_commit": _git_commit(),
            "versions": _versions(), "wall_s": round(wall_s, 1), "world_size": world_size,
            "torch_threads": torch.get_num_threads(), "machine": machine(), "notes": result.notes,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def write_record(run_dir: Path, record: dict[str, Any]) -> Path:
    path = run_dir / "record.json"
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True))
    return path


def upgrade(rec: dict[str, Any]) -> dict[str, Any]:
    """A record of any format as format 2 (format 1 named the scale `profile`)."""
    if rec.get("record_version", 1) < 2:
        rec = dict(rec)
        rec["scale"] = rec.pop("profile", None)
        rec.setdefault("higher_is_better", {})
        rec.setdefault("artefacts", {})
        rec["record_version"] = RECORD_VERSION
    return rec


# what every record must hold, and of which type, to be indexed and shown
_FIELDS = {"method": str, "task": str, "protocol": str, "protocol_version": int, "protocol_full": str,
           "scale": str, "seed": int, "metrics": dict, "checkpoint_sha256": str, "created": str}


def check_record(rec: Any, path: Path) -> dict[str, Any]:
    """A record read from `path`, upgraded to the current format; malformed: one-line error naming it."""
    if not isinstance(rec, dict):
        raise BenchError(f"{path}: corrupt result record (a JSON {type(rec).__name__}, expected an object)")
    rec = upgrade(rec)
    for k, t in _FIELDS.items():
        if not isinstance(rec.get(k), t) or isinstance(rec.get(k), bool):
            got = "missing" if k not in rec else f"a {type(rec[k]).__name__}"
            raise BenchError(f"{path}: corrupt result record ('{k}' is {got}, expected a {t.__name__})")
    bad = [k for k, v in rec["metrics"].items() if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)))]
    if bad:
        raise BenchError(f"{path}: corrupt result record (metric '{bad[0]}' is not a number)")
    from harness.names import check_name
    for k in ("method", "task", "protocol", "scale"):
        check_name(rec[k], f"{path}: corrupt result record ({k})")
    _check_metric_values(rec, path)
    return rec


def _check_metric_values(rec: dict[str, Any], path: Path) -> None:
    """Every metric finite (JSON's NaN and Infinity are read by Python's json), and each metric the
    task card declares inside its unit's range (harness.protocol.UNITS): a box AP of 2250 is a
    corrupt record, never a number in a table."""
    import math
    for k, v in rec["metrics"].items():
        if v is not None and not math.isfinite(v):
            raise BenchError(f"{path}: corrupt result record (metric '{k}' is {v}, expected a finite number)")
    from harness.registry import TASKS
    if rec["task"] not in TASKS.names():  # a plugin's task not installed here: its card is unknown
        return
    for m in TASKS.card(rec["task"]).metrics:
        v = rec["metrics"].get(m.name)
        lo, hi = m.range
        if v is not None and not lo <= v <= hi:
            raise BenchError(f"{path}: corrupt result record (metric '{m.name}' is {v}, outside [{lo:g}, {hi:g}] "
                             f"for a {m.unit} metric)")


def check_location(rec: dict[str, Any], path: Path, base: Path) -> None:
    """A record must say what the folder it lies in says (<task>/<protocol>@<v>/<scale>/<run>/):
    one moved or edited into another table's folder is refused, naming both."""
    parts = path.relative_to(base).parts
    said = (rec["task"], f"{rec['protocol']}@{rec['protocol_version']}", rec["scale"])
    if len(parts) != 5 or tuple(parts[:3]) != said:
        raise BenchError(f"{path}: corrupt result record (it says {'/'.join(said)}, but lies in "
                         f"{'/'.join(parts[:-2]) or '.'}/)")


def read_record(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except IsADirectoryError as e:
        raise BenchError(f"{path}: is a folder, expected a result record file") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BenchError(f"{path}: corrupt result record ({getattr(e, 'msg', type(e).__name__)}); delete or fix it") from e
    except OSError as e:
        raise BenchError(f"{path}: cannot read the result record ({e.strerror or e})") from e
    return {**check_record(raw, path), "_path": str(path)}


def iter_records(root: str | Path | None = None, problems: list[str] | None = None,
                 with_paths: bool = False) -> list[dict[str, Any]]:
    """All records under the results root (sorted by path). A malformed record is a one-line error,
    or, when a `problems` list is given, skipped and reported there. with_paths: each record gets
    "_path", its record.json (for the run folder's artefacts)."""
    out = []
    base = results_root(root)
    if root is not None and not base.is_dir():
        raise BenchError(f"--results-root {root}: no such folder" if not base.exists() and not base.is_symlink()
                         else f"--results-root {root}: not a readable folder (a symlink loop or a broken link?)")
    try:
        paths = sorted(base.rglob("record.json"))
    except OSError as e:
        raise BenchError(f"results root {base}: cannot be listed ({e.strerror or e})") from e
    for p in paths:
        if STAGING in p.relative_to(base).parts:
            continue
        try:
            rec = read_record(p)
            check_location(rec, p, base)
            out.append({**rec, "_path": str(p)} if with_paths else rec)
        except BenchError as e:
            if problems is None:
                raise
            problems.append(str(e))
    return out


def rebuild_index(root: str | Path | None = None, problems: list[str] | None = None) -> Path:
    """Recreate <root>/index.sqlite from the records (idempotent). Returns its path. Malformed records
    are skipped into `problems` when given (else a one-line error)."""
    return write_index(root, iter_records(root, problems))


def write_index(root: str | Path | None, recs: list[dict[str, Any]]) -> Path:
    """Write <root>/index.sqlite of `recs` (records as iter_records returns them) through a temporary
    file that is removed on every error. Returns its path."""
    root = results_root(root)
    check_writable(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BenchError(f"results root {root}: cannot create it ({e.strerror or e})") from e
    db = root / "index.sqlite"
    if db.is_dir():
        raise BenchError(f"{db}: is a folder; expected the SQLite index file")
    tmp = root / f".index.sqlite.tmp{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            con.execute("CREATE TABLE runs (path TEXT PRIMARY KEY, method TEXT, task TEXT, protocol TEXT, "
                        "protocol_version INTEGER, scale TEXT, seed INTEGER, checkpoint_sha256 TEXT, "
                        "weights_sha256 TEXT, created TEXT, wall_s REAL)")
            con.execute("CREATE TABLE metrics (path TEXT, name TEXT, value REAL, higher_is_better INTEGER, "
                        "PRIMARY KEY (path, name))")
            for r in recs:
                con.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            (r["_path"], r["method"], r["task"], r["protocol"], r["protocol_version"], r["scale"],
                             r["seed"], r["checkpoint_sha256"], r.get("weights_sha256"), r["created"], r.get("wall_s")))
                hib = r.get("higher_is_better") or {}
                con.executemany("INSERT INTO metrics VALUES (?,?,?,?)",
                                [(r["_path"], k, v, None if k not in hib else int(hib[k]))
                                 for k, v in sorted(r["metrics"].items())])
            con.commit()
        finally:
            con.close()
        os.replace(tmp, db)
    except (OSError, sqlite3.Error) as e:
        raise BenchError(f"{db}: cannot write the index ({getattr(e, 'strerror', None) or e})") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return db
