"""Small helpers for configs as data: deep merge, stable hashing, paths of the DenseBench home."""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping


def read_yaml(path: str | os.PathLike, what: str) -> Any:
    """Parse a YAML data file; a syntax error or unreadable file is a one-line error naming it."""
    import yaml
    from harness.errors import BenchError
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


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def home() -> Path:
    """DenseBench's cache root: $DENSEBENCH_HOME, default ~/.cache/densebench (must be a folder)."""
    h = Path(os.environ.get("DENSEBENCH_HOME", Path.home() / ".cache" / "densebench"))
    if h.exists() and not h.is_dir():
        from harness.errors import BenchError
        raise BenchError(f"DENSEBENCH_HOME {h}: is a file; expected a folder (or a path where one can be made)")
    return h


def make_dir(path: str | os.PathLike, what: str) -> Path:
    """mkdir -p `path`, or a one-line error naming it and `what` it is for (a read-only home, a parent
    that is a file)."""
    from harness.errors import BenchError
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BenchError(f"{path}: cannot create {what} ({e.strerror or e})") from e
    return path


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold an exclusive flock on the file `path` (made with its folder; released by the kernel if the
    holder dies); a folder or file that cannot be made is a one-line error naming it and `what` the
    lock guards."""
    import fcntl
    from harness.errors import BenchError
    path = Path(path)
    make_dir(path.parent, f"the folder of {what}")
    try:
        f = open(path, "w")
    except OSError as e:
        raise BenchError(f"{path}: cannot create the lock file of {what} ({e.strerror or e})") from e
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call write(tmp) on a temporary file beside `path`, then rename it to `path`: readers never see
    half a file, and the temporary file is removed on every error. An output that is a folder, a
    parent that is a file or a folder that cannot be written is a one-line error naming the path."""
    from harness.errors import BenchError
    path = Path(path)
    if path.is_dir():
        raise BenchError(f"{path}: is a folder; expected the path of a file to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise BenchError(f"{path}: a parent of it is a file, not a folder") from e
    except OSError as e:
        raise BenchError(f"{path}: cannot create its folder ({e.strerror or e})") from e
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise BenchError(f"{path}: cannot write ({e.strerror or e})") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write bytes atomically (see atomic_write)."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def owner_tag() -> str:
    """'@<host>@<pid>': the suffix of a staging folder's name, naming the process writing it."""
    import socket
    return f"@{socket.gethostname()}@{os.getpid()}"


def sweep_dead_staging(candidates: Iterable[Path]) -> None:
    """Remove the staging folders (names ending in owner_tag()) whose process is gone, e.g. killed
    with -9: only this host's, since a data or results root may be shared by the nodes of a cluster,
    whose pids mean nothing here."""
    import shutil
    import socket
    host = socket.gethostname()
    for d in candidates:
        parts = d.name.rsplit("@", 2)
        if len(parts) != 3 or parts[1] != host or not parts[2].isdigit():
            continue
        try:
            os.kill(int(parts[2]), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:  # alive, another user's
            pass
