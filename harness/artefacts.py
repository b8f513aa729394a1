"""Content-keyed, resumable artefacts of multi-stage methods (ORL's stage 2 and the like).

An artefact is one file under $DENSEBENCH_HOME/artefacts/<kind>/<key>.<ext>, where key is the hash
of everything its content depends on (the sha256 of the input weights and images, the settings,
the artefact's format version): equal inputs find it again, changed inputs never reuse it.

Per-image work goes through `map_chunks`: items are cut into chunks, each chunk's result is written
atomically as its own part file as soon as it is done, and the parts are merged into the final
artefact (one .npz) at the end. A run killed at any point (kill -9 included) resumes from its
finished parts; because every part is a pure function of its items, the merged file is the same
as an uninterrupted run's.
"""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from harness.files import atomic_write_bytes, exclusive_lock, home

from harness.schema import stable_hash
from harness.threads import cpu_count


def artefact_path(kind: str, inputs: dict[str, Any], ext: str) -> Path:
    """Where the artefact of `kind` computed from `inputs` (plain data) lives."""
    return home() / "artefacts" / kind / f"{stable_hash(inputs)}.{ext}"


def files_sha256(files: Sequence[Path]) -> str:
    """One sha256 over the names and bytes of `files`, in order (an image set's content identity)."""
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).name.encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock for producing `path` (released by the kernel if the holder dies)."""
    with exclusive_lock(path.parent / f".{path.name}.lock", f"the artefact {path.name} (DENSEBENCH_HOME must be writable)"):
        yield


Item = np.ndarray | tuple[np.ndarray, ...]


def save_arrays(path: Path, items: list[Item]) -> None:
    """A list of arrays, or of tuples of arrays (any shapes), as one .npz written atomically:
    a0, a1, ... or a0_0, a0_1, ... (the count of each tuple in n0, n1, ...)."""
    named: dict[str, np.ndarray] = {}
    for i, a in enumerate(items):
        if isinstance(a, tuple):
            named[f"n{i}"] = np.array(len(a))
            named.update({f"a{i}_{k}": x for k, x in enumerate(a)})
        else:
            named[f"a{i}"] = a
    buf = io.BytesIO()
    np.savez(buf, **named)
    atomic_write_bytes(path, buf.getvalue())


def load_arrays(path: Path) -> list[Item]:
    """The list written by save_arrays."""
    with np.load(path, allow_pickle=False) as z:
        names = set(z.files)
        out: list[Item] = []
        i = 0
        while f"a{i}" in names or f"n{i}" in names:
            out.append(z[f"a{i}"] if f"a{i}" in names else tuple(z[f"a{i}_{k}"] for k in range(int(z[f"n{i}"]))))
            i += 1
        return out


def map_chunks(n: int, compute: Callable[[range], list[Item]], out: Path, chunk: int = 64,
               workers: int = 1, desc: str = "", progress: bool = True) -> list[Item]:
    """[compute(items)...] over items 0..n-1 in chunks, cached as the artefact `out` (.npz).

    compute(range of item indices) -> one array (or tuple of arrays) per item; it must be a picklable,
    pure function of the indices (workers > 1 run chunks in spawned processes: an importable class).
    Finished chunks are kept in `<out>.parts/` until the merge, so an interrupted call resumes where
    it stopped.
    """
    if out.exists():
        return load_arrays(out)
    from tqdm import tqdm
    with locked(out):
        if out.exists():  # another process made it while this one waited
            return load_arrays(out)
        parts = out.with_name(out.name + ".parts")
        parts.mkdir(parents=True, exist_ok=True)
        todo = [range(s, min(s + chunk, n)) for s in range(0, n, chunk)
                if not (parts / f"{s:08d}.npz").exists()]
        bar = tqdm(total=n, initial=n - sum(len(r) for r in todo), desc=desc, disable=not progress,
                   dynamic_ncols=True, unit="img")

        def keep(r: range, result: list[np.ndarray]) -> None:
            if len(result) != len(r):
                raise RuntimeError(f"{desc}: {len(result)} results for {len(r)} items")  # a bug in `compute`
            save_arrays(parts / f"{r.start:08d}.npz", result)
            bar.update(len(r))

        if workers > 1 and len(todo) > 1:
            # spawned, not forked: a fork taken while another thread of this process holds a lock
            # (torch's, tqdm's monitor) leaves the child waiting on it for ever
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                for r, result in zip(todo, pool.map(compute, todo)):
                    keep(r, result)
        else:
            for r in todo:
                keep(r, compute(r))
        bar.close()
        merged = [a for s in range(0, n, chunk) for a in load_arrays(parts / f"{s:08d}.npz")]
        save_arrays(out, merged)
        shutil.rmtree(parts, ignore_errors=True)
    return merged


def cpu_workers() -> int:
    """Processes a CPU-bound step may use: the CPUs this process may run on."""
    return cpu_count()
