"""The file system, safely: DenseBench's home (its caches), folders and lock files with one-line errors,
atomic writes (readers never see half a file), staging folders named after their writer (so that
those of killed writers can be swept), and files' sha256."""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator

from harness.errors import BenchError


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
        raise BenchError(f"DENSEBENCH_HOME {h}: is a file; expected a folder (or a path where one can be made)")
    return h


def make_dir(path: str | os.PathLike, what: str) -> Path:
    """mkdir -p `path`, or a one-line error naming it and `what` it is for (a read-only home, a parent
    that is a file)."""
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
