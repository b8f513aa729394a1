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
import shutil
import sqlite3
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.config import atomic_write_text, home, stable_hash
from harness.errors import BenchError

RECORD_VERSION = 2
STAGING = ".staging"
_PACKAGES = ("torch", "torchvision", "pb1-detectron2", "detectron2", "pycocotools", "numpy", "safetensors",
             "mmsegmentation", "mmcv", "mmcv-lite", "mmengine")


def results_root(root: str | Path | None = None) -> Path:
    return Path(root or os.environ.get("DENSEBENCH_RESULTS") or home() / "results")


def stage_run_dir(root: str | Path | None, task: str, protocol: Any, scale: str, method: str, sha: str,
                  seed: int) -> tuple[Path, Path]:
    """(staging folder to run in, final folder it becomes). Both are unique to this run."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{method}-{sha[:8]}-s{seed}-{stamp}-{os.getpid()}"
    base = results_root(root)
    final = base / task / f"{protocol.id}@{protocol.version}" / scale / name
    staged = base / STAGING / f"{task}-{name}"
    staged.mkdir(parents=True, exist_ok=False)
    return staged, final


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
                direction: dict[str, bool], wall_s: float, world_size: int) -> dict[str, Any]:
    """The record of one run. checkpoint: harness.checkpoint.Checkpoint; result: harness.api.TaskResult."""
    import torch
    meta = checkpoint.meta
    return {"record_version": RECORD_VERSION, "method": meta["method"], "checkpoint": str(checkpoint.path),
            "checkpoint_sha256": checkpoint.file_sha256, "weights_sha256": meta.get("weights_sha256"),
            "pretrain": {k: meta.get(k) for k in ("arch", "epochs", "pretrain_data", "encoder", "recipe",
                                                  "recipe_version", "scale", "config_hash", "seed")},
            "task": task, "protocol": protocol.id, "protocol_version": protocol.version,
            "protocol_full": protocol.full_id, "scale": scale, "seed": seed, "metrics": result.metrics,
            "higher_is_better": {k: v for k, v in direction.items() if k in result.metrics},
            "artefacts": result.artefacts, "config_hash": stable_hash(result.config), "git_commit": _git_commit(),
            "versions": _versions(), "wall_s": round(wall_s, 1), "world_size": world_size,
            "torch_threads": torch.get_num_threads(), "notes": result.notes,
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


def iter_records(root: str | Path | None = None) -> list[dict[str, Any]]:
    """All records under the results root (sorted by path). A corrupt record is a one-line error."""
    out = []
    base = results_root(root)
    for p in sorted(base.rglob("record.json")):
        if STAGING in p.relative_to(base).parts:
            continue
        try:
            rec = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise BenchError(f"{p}: corrupt result record ({e.msg}); delete or fix it") from e
        rec = upgrade(rec)
        rec["_path"] = str(p)
        out.append(rec)
    return out


def rebuild_index(root: str | Path | None = None) -> Path:
    """Recreate <root>/index.sqlite from the records (idempotent). Returns its path."""
    root = results_root(root)
    root.mkdir(parents=True, exist_ok=True)
    db = root / "index.sqlite"
    tmp = root / f".index.sqlite.tmp{os.getpid()}"
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    con.execute("CREATE TABLE runs (path TEXT PRIMARY KEY, method TEXT, task TEXT, protocol TEXT, "
                "protocol_version INTEGER, scale TEXT, seed INTEGER, checkpoint_sha256 TEXT, created TEXT, wall_s REAL)")
    con.execute("CREATE TABLE metrics (path TEXT, name TEXT, value REAL, higher_is_better INTEGER, "
                "PRIMARY KEY (path, name))")
    for r in iter_records(root):
        con.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (r["_path"], r["method"], r["task"], r["protocol"], r["protocol_version"], r["scale"],
                     r["seed"], r["checkpoint_sha256"], r["created"], r["wall_s"]))
        hib = r.get("higher_is_better", {})
        con.executemany("INSERT INTO metrics VALUES (?,?,?,?)",
                        [(r["_path"], k, v, None if k not in hib else int(hib[k])) for k, v in sorted(r["metrics"].items())])
    con.commit()
    con.close()
    os.replace(tmp, db)
    return db
