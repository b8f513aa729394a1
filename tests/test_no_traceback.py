"""Issue 40, tracebacks and a crash: a read-only DENSEBENCH_HOME, an output under /proc, and model
files that are not structured-edge forests each get one line and exit status 2."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness import runs
from app.cli import main

# a one-tree structured-edge forest in OpenCV's model format (the options and per-node arrays
# StructuredEdgeDetectionImpl reads; a root with two leaves): OpenCV accepts and runs it
TINY_MODEL = """%YAML:1.0
options:
   numberOfTrees: 1
   numberOfTreesToEvaluate: 1
   selfsimilarityGridSize: 5
   stride: 2
   shrinkNumber: 2
   patchSize: 32
   patchInnerSize: 16
   numberOfGradientOrientations: 4
   gradientSmoothingRadius: 0
   regFeatureSmoothingRadius: 2
   ssFeatureSmoothingRadius: 8
   gradientNormalizationRadius: 4
childs:
   - [ 2, 0, 0 ]
featureIds:
   - [ 0, 0, 0 ]
thresholds:
   - [ 0.5, 0., 0. ]
edgeBoundaries:
   - [ 0, 0, 3, 3 ]
edgeBins:
   - [ 0, 17, 34 ]
"""


@pytest.fixture
def read_only_home(tmp_path, monkeypatch):
    """A DENSEBENCH_HOME nothing can be written into: `chattr +i` (root ignores chmod), else chmod 555."""
    home = tmp_path / "home"
    home.mkdir()
    immutable = os.geteuid() == 0
    if immutable:
        r = subprocess.run(["chattr", "+i", str(home)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"chattr +i is not available here ({r.stderr.decode().strip()})")
    else:
        home.chmod(0o555)
    monkeypatch.setenv("DENSEBENCH_HOME", str(home))
    yield home
    if immutable:
        subprocess.run(["chattr", "-i", str(home)])
    else:
        home.chmod(0o755)


def _bench(argv: list[str], env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *argv], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def ck(tmp_path_factory) -> Path:
    """A canonical checkpoint outside any home (made in the session's home)."""
    out = tmp_path_factory.mktemp("ck") / "ck.safetensors"
    shutil.copy(runs.pretrain("random", "mini", 0), out)
    return out


def test_read_only_home_is_one_line(ck, read_only_home, capsys):
    assert main(["sweep", "--table", "zhang_maire_t3", "--seeds", "0", "--dry-run"]) == 0  # reads only
    assert "trials recorded" in capsys.readouterr().out
    for argv, fragment in ((["inspect", "rank", "--checkpoint", str(ck)], "DENSEBENCH_HOME must be writable"),
                           (["run", "--method", "random", "--task", "davis_vos"], "DENSEBENCH_HOME must be writable"),
                           (["run", "--checkpoint", str(ck), "--task", "davis_vos"], "cannot create")):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and err.startswith("bench: ") and fragment in err, (argv, err)
    assert list(read_only_home.iterdir()) == []


def test_report_under_proc_is_one_line(tmp_path, capsys):
    (tmp_path / "res").mkdir()
    assert main(["report", "--out", "/proc/densebench-x", "--results-root", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/proc/densebench-x" in err and "cannot create" in err, err


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("ucm") / "img.png"
    rgb = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(p)
    return p


@pytest.mark.parametrize("content,fragment", [
    (("gz", b"not an opencv storage at all\n"), "not an OpenCV YAML/XML file"),
    (("yml", b"%YAML:1.0\n"), "options.numberOfTrees is missing or below 1"),       # SIGFPE before: no message, exit 136
    (("yml", TINY_MODEL.replace("numberOfTrees: 1", "numberOfTrees: 0").encode()), "options.numberOfTrees is missing or below 1"),
    (("yml", TINY_MODEL.replace("childs:\n   - [ 2, 0, 0 ]\n", "").encode()), "'childs' is missing or empty"),
    (("yml", TINY_MODEL.replace("numberOfTrees: 1", "numberOfTrees: 2").encode()), "'childs' holds 1 trees, options say 2"),
], ids=["gzip-junk", "header-only", "zero-trees", "no-childs", "tree-count"])
def test_an_edges_model_that_is_no_forest_is_refused_before_opencv(content, fragment, image, tmp_path):
    ext, body = content
    model = tmp_path / f"model.{'yml.gz' if ext == 'gz' else 'yml'}"
    model.write_bytes(gzip.compress(body) if ext == "gz" else body)
    r = _bench(["inspect", "ucm", "--image", str(image), "--edges-model", str(model)], cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and fragment in r.stderr, (r.returncode, r.stderr)
    assert not (tmp_path / "ucm.png").exists()


def test_a_structured_edge_forest_is_accepted(image, tmp_path):
    model = tmp_path / "tiny.yml.gz"
    model.write_bytes(gzip.compress(TINY_MODEL.encode()))
    r = _bench(["inspect", "ucm", "--image", str(image), "--edges-model", str(model)], cwd=tmp_path)
    assert r.returncode == 0 and "structured edges" in r.stdout, r.stderr
    assert (tmp_path / "ucm.png").read_bytes()[:4] == b"\x89PNG"
