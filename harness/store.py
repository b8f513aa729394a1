"""The results store: one JSON record per run, and an SQLite index rebuilt from the records.

Records are the source of truth (`<results root>/<task>/<protocol>@<v>/<profile>/<run>/record.json`,
written to a temporary file and renamed). `index.sqlite` under the results root is derived:
`rebuild_index` recreates it from the records, so running it twice gives the same index.
"""
from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.config import atomic_write_text, home, stable_hash
from harness.errors import BenchError

RECORD_VERSION = 1
_PACKAGES = ("torch", "torchvision", "pb1-detectron2", "detectron2", "pycocotools", "numpy", "safetensors",
             "mmsegmentation", "mmcv", "mmcv-lite", "mmengine")


def results_root(root: str | Path | None = None) -> Path:
    return Path(root or os.environ.get("DENSEBENCH_RESULTS") or home() / "results")


def new_run_dir(root: Path | None, task: str, protocol: Any, profile: str, method: str, sha: str, seed: int) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    d = results_root(root) / task / f"{protocol.id}@{protocol.version}" / profile / f"{method}-{sha[:8]}-s{seed}-{stamp}-{os.getpid()}"
    d.mkdir(parents=True, exist_ok=False)
    return d


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


def make_record(*, method: str, checkpoint: str, checkpoint_sha256: str, checkpoint_meta: dict[str, Any], task: str,
                protocol: Any, profile: str, seed: int, metrics: dict[str, float], config: Any,
                notes: dict[str, Any], wall_s: float) -> dict[str, Any]:
    import torch
    world = int(os.environ.get("WORLD_SIZE", "1")) if not torch.cuda.is_available() else max(torch.cuda.device_count(), 1)
    return {"record_version": RECORD_VERSION, "method": method, "checkpoint": checkpoint,
            "checkpoint_sha256": checkpoint_sha256,
            "pretrain": {k: checkpoint_meta.get(k) for k in ("arch", "epochs", "pretrain_data", "encoder", "profile", "config_hash")},
            "task": task, "protocol": protocol.id, "protocol_version": protocol.version,
            "protocol_full": protocol.full_id, "profile": profile, "seed": seed, "metrics": metrics,
            "config_hash": stable_hash(config), "git_commit": _git_commit(), "versions": _versions(),
            "wall_s": round(wall_s, 1), "world_size": world, "notes": notes,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def write_record(run_dir: Path, record: dict[str, Any]) -> Path:
    path = run_dir / "record.json"
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True))
    return path


def iter_records(root: str | Path | None = None) -> list[dict[str, Any]]:
    """All records under the results root (sorted by path). A corrupt record is a one-line error."""
    out = []
    for p in sorted(results_root(root).rglob("record.json")):
        try:
            rec = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise BenchError(f"{p}: corrupt result record ({e.msg}); delete or fix it") from e
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
                "protocol_version INTEGER, profile TEXT, seed INTEGER, checkpoint_sha256 TEXT, created TEXT, wall_s REAL)")
    con.execute("CREATE TABLE metrics (path TEXT, name TEXT, value REAL, PRIMARY KEY (path, name))")
    for r in iter_records(root):
        con.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (r["_path"], r["method"], r["task"], r["protocol"], r["protocol_version"], r["profile"],
                     r["seed"], r["checkpoint_sha256"], r["created"], r["wall_s"]))
        con.executemany("INSERT INTO metrics VALUES (?,?,?)", [(r["_path"], k, v) for k, v in sorted(r["metrics"].items())])
    con.commit()
    con.close()
    os.replace(tmp, db)
    return db
