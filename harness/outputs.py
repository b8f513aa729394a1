"""What DenseBench may write over or remove: only its own files, never an input, never a user's file.

Single files (`bench convert`, `bench import`, `bench inspect ... --out`): an output that is one of
the command's inputs (the same file through any spelling, symlink or hard link) is always refused;
an existing output is replaced only when DenseBench wrote exactly those bytes there, or with
`--force`. What DenseBench wrote is remembered in a ledger, `$DENSEBENCH_HOME/outputs.jsonl`, one
line `{"path", "sha256"}` per file written (best effort: where the home cannot be written, a later
overwrite of that file needs `--force`).

Folders written whole (`bench report --out`, `bench data synth --out`): the folder holds a manifest
(a marker JSON with a `files` list of every path written, relative to the folder). An existing
folder is replaced only when everything in it is listed there (or it is empty); otherwise the
command refuses, naming the first path DenseBench did not write.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from harness.files import file_sha256, home
from harness.errors import BenchError

LEDGER = "outputs.jsonl"


def _ledger() -> Path:
    return home() / LEDGER


def _key(path: Path) -> str:
    return str(Path(os.path.abspath(path)).parent.resolve() / path.name)


def _owned(path: Path) -> bool:
    """True when the ledger's last entry for `path` has the file's present sha256."""
    try:
        lines = _ledger().read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    key, want = _key(path), None
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue  # a torn last line of a killed writer: not evidence of anything
        if isinstance(e, dict) and e.get("path") == key:
            want = e.get("sha256")
    return want is not None and want == file_sha256(path)


def check_output_file(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (),
                      force: bool = False, what: str = "output") -> Path:
    """Refuse, before any work, an output that is an input, a folder, or a file DenseBench did not
    write (unless force). Returns the output path."""
    out = Path(out)
    if out.is_dir():
        raise BenchError(f"{what} {out}: is a folder; expected the path of a file to write")
    if not out.exists():
        return out
    for i in inputs:
        if i is not None and Path(i).exists() and os.path.samefile(i, out):
            raise BenchError(f"{what} {out}: is the input file {i}; choose another output path "
                             "(writing it would replace the input)")
    if not force and not _owned(out):
        raise BenchError(f"{what} {out}: exists and DenseBench did not write it; refusing to replace it "
                         "(choose another path, or pass --force to overwrite it)")
    return out


def note_written(path: str | os.PathLike) -> None:
    """Remember that DenseBench wrote `path` as it is now (one appended ledger line)."""
    path = Path(path)
    line = json.dumps({"path": _key(path), "sha256": file_sha256(path)}) + "\n"
    try:
        _ledger().parent.mkdir(parents=True, exist_ok=True)
        with open(_ledger(), "a") as f:  # one short O_APPEND write: lines of two writers never interleave
            f.write(line)
    except OSError:
        pass  # documented: the only cost is that replacing this file later needs --force


# ------------------------------------------------------------------ folders written whole
def listing(folder: Path) -> list[str]:
    """Every file, folder and link under `folder`, relative, sorted (links not followed)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = Path(dirpath).relative_to(folder)
        out += [str(rel / n) for n in dirnames + filenames]
    return sorted(out)


def write_manifest(folder: Path, marker: str, payload: dict[str, Any]) -> None:
    """Write `folder/marker`: payload plus `files`, every path now under the folder (call it last)."""
    files = [p for p in listing(folder) if p != marker]
    (folder / marker).write_text(json.dumps({**payload, "files": files}, sort_keys=True, default=list))


def read_manifest(folder: Path, marker: str) -> dict[str, Any] | None:
    try:
        m = json.loads((folder / marker).read_text())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def foreign(folder: Path, marker: str) -> list[str]:
    """The paths under `folder` that its manifest does not list (all of them without a manifest)."""
    m = read_manifest(folder, marker)
    listed = set(m.get("files") or []) if m and isinstance(m.get("files"), list) else set()
    return [p for p in listing(folder) if p != marker and p not in listed]


def check_folder_replaceable(out: Path, marker: str, what: str) -> None:
    """Refuse (one line) to replace `out` unless it is missing, empty, or holds only what its
    manifest lists. `what`: the kind of folder, for the message ("a DenseBench report")."""
    if not out.exists() and not out.is_symlink():
        if out.parent.exists() and not out.parent.is_dir():
            raise BenchError(f"--out {out}: its parent {out.parent} is a file, not a folder")
        return
    if not out.is_dir() or out.is_symlink():
        raise BenchError(f"--out {out}: exists and is not a folder; expected a new or empty folder, or {what}")
    try:
        entries = listing(out)
    except OSError as e:
        raise BenchError(f"--out {out}: cannot read the folder ({e.strerror or e})") from e
    if not entries:
        return
    if read_manifest(out, marker) is None:
        raise BenchError(f"--out {out}: exists, is not empty and is not {what} (no {marker}); refusing to replace "
                         "it: choose a new or empty folder")
    bad = foreign(out, marker)
    if bad:
        raise BenchError(f"--out {out}: holds {bad[0]}, which DenseBench did not write ({len(bad)} such "
                         "paths); refusing to replace the folder: move them away or choose another folder")


def publish_folder(tmp: Path, out: Path, marker: str, what: str) -> Path:
    """Move the finished staging folder `tmp` (its manifest written) to `out`: renamed into place when
    `out` is missing; moved into it entry by entry, the manifest last, when `out` is an empty folder
    (it may be the working directory, which must not be renamed away); swapped with an earlier copy
    of DenseBench's own otherwise, which is then removed (checked again first: something may have
    appeared meanwhile)."""
    import shutil
    check_folder_replaceable(out, marker, what)
    if not out.exists():
        os.replace(tmp, out)
    elif not any(out.iterdir()):
        for child in sorted(tmp.iterdir(), key=lambda p: p.name == marker):
            os.replace(child, out / child.name)
        tmp.rmdir()
    else:
        old = out.with_name(f".{out.name}.old{os.getpid()}")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    return out
