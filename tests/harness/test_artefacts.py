"""Content-keyed artefacts: a chunked map killed with SIGKILL resumes to the same bytes."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from harness.artefacts import artefact_path, load_arrays, map_chunks

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from pathlib import Path
    from harness.artefacts import map_chunks

    class Work:
        def __call__(self, r):
            if os.environ.get("DIE_AT") and r.start == int(os.environ["DIE_AT"]):
                os.kill(os.getpid(), signal.SIGKILL)   # no cleanup, no finally: as kill -9
            return [np.arange(i % 5 + 1, dtype=np.float32) * i for i in r]

    out = Path(sys.argv[1])
    arrays = map_chunks(23, Work(), out, chunk=4, progress=False)
    print(len(arrays))
""")


def _run(out: Path, die_at: int | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DIE_AT"}
    if die_at is not None:
        env["DIE_AT"] = str(die_at)
    return subprocess.run([sys.executable, "-c", SCRIPT, str(out)], env=env, capture_output=True, text=True)


def test_map_chunks_resumes_after_sigkill_with_identical_output(tmp_path):
    ref = tmp_path / "ref.npz"
    assert _run(ref, None).returncode == 0
    out = tmp_path / "killed.npz"
    r = _run(out, die_at=12)
    assert r.returncode == -9 and not out.exists()
    parts = sorted(p.name for p in (tmp_path / "killed.npz.parts").glob("*.npz"))
    assert parts == ["00000000.npz", "00000004.npz", "00000008.npz"]  # finished chunks kept
    assert _run(out, None).returncode == 0
    assert out.read_bytes() == ref.read_bytes()
    assert not (tmp_path / "killed.npz.parts").exists()
    got = load_arrays(out)
    assert len(got) == 23 and np.array_equal(got[7], np.arange(3, dtype=np.float32) * 7)


def test_map_chunks_reuses_the_artefact(tmp_path):
    calls = []

    def work(r):
        calls.append(r.start)
        return [np.array([i]) for i in r]

    out = tmp_path / "a.npz"
    first = map_chunks(5, work, out, chunk=2, progress=False)
    again = map_chunks(5, lambda r: 1 / 0, out, chunk=2, progress=False)
    assert calls == [0, 2, 4] and [a.tolist() for a in again] == [a.tolist() for a in first]


def test_artefact_path_is_keyed_by_content_not_order_of_keys():
    a = artefact_path("k", {"x": 1, "y": [1, 2]}, "npz")
    assert a == artefact_path("k", {"y": [1, 2], "x": 1}, "npz")
    assert a != artefact_path("k", {"x": 2, "y": [1, 2]}, "npz")


def test_items_may_be_tuples_of_arrays(tmp_path):
    from harness.artefacts import save_arrays
    items = [(np.zeros((2, 3)), np.arange(4)), np.ones(1), (np.eye(2),)]
    save_arrays(tmp_path / "t.npz", items)
    got = load_arrays(tmp_path / "t.npz")
    assert isinstance(got[0], tuple) and got[0][1].tolist() == [0, 1, 2, 3] and got[1].tolist() == [1.0]
    assert isinstance(got[2], tuple) and len(got[2]) == 1 and got[2][0].tolist() == [[1, 0], [0, 1]]
