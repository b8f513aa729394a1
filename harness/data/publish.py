"""Writing a synthetic data set safely: staged in a fresh sibling folder, marked, renamed into place.

Every synthetic data set holds a marker file (`.densebench-synthetic.json`: layout, rendering
version, generator parameters, and the manifest of every file written: harness.outputs). An
existing folder is replaced only if it is empty, or if its marker says it is a DenseBench synthetic
data set of the same layout and version and it holds nothing the manifest does not list: DenseBench
never deletes what it did not create (`bench data synth --out ~/Documents` is refused, not emptied;
a note a user added inside a synthetic set makes a re-synth refuse, naming it).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from harness.files import owner_tag, sweep_dead_staging
from harness.errors import BenchError
from harness.outputs import check_folder_replaceable, publish_folder, write_manifest

MARKER = ".densebench-synthetic.json"


def _version(layout: str) -> list:
    from harness.data.scenes import synth_version
    return list(synth_version(layout))


def marker_of(folder: Path) -> dict[str, Any] | None:
    try:
        m = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def check_replaceable(out: Path, layout: str) -> None:
    """Refuse (one line) to write over anything but an empty folder or a DenseBench synthetic `layout`
    set of this version holding only what it wrote."""
    if out.exists() and not out.is_dir():
        raise BenchError(f"--out {out}: exists and is a file; expected a new folder or a DenseBench synthetic "
                         f"{layout} data set to replace")
    m = marker_of(out) if out.is_dir() else None
    if m is not None and (m.get("layout") != layout or m.get("version") != _version(layout)):
        raise BenchError(f"--out {out}: holds a synthetic {m.get('layout')} data set of version {m.get('version')}; "
                         f"expected {layout} version {_version(layout)}: refusing to replace it")
    check_folder_replaceable(out, MARKER, "a DenseBench synthetic data set")


def staging_name(out: Path) -> Path:
    """The staging folder of `out` for this host and process (the host: data roots may be shared)."""
    return out.with_name(f".{out.name}.tmp{owner_tag()}")


def staging_dir(out: str | os.PathLike, layout: str) -> tuple[Path, Path]:
    """(fresh staging folder beside `out`, resolved `out`), after checking `out` may be replaced."""
    out = Path(out).resolve()
    check_replaceable(out, layout)
    if out.parent.is_dir():  # staging folders of writers killed before they finished
        sweep_dead_staging(out.parent.glob(f".{out.name}.tmp@*"))
    tmp = staging_name(out)
    shutil.rmtree(tmp, ignore_errors=True)  # only ever our own staging name
    try:
        tmp.mkdir(parents=True)
    except OSError as e:
        raise BenchError(f"--out {out}: cannot create {tmp} ({e.strerror or e})") from e
    return tmp, out


def publish_dir(tmp: Path, out: Path, layout: str, params: dict[str, Any]) -> Path:
    """Mark the finished staging folder (with its manifest) and move it to `out` (harness.outputs)."""
    write_manifest(tmp, MARKER, {"layout": layout, "version": _version(layout), "params": params})
    check_replaceable(out, layout)  # again: something may have appeared meanwhile
    return publish_folder(tmp, out, MARKER, "a DenseBench synthetic data set")
