"""Session fixtures: an isolated DENSEBENCH_HOME, and tiny synthetic data built once per session."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import harness  # noqa: F401  (before torch: sets how OpenMP threads wait, harness/threads.py)
import torch  # noqa: E402

torch.set_num_threads(2)

PLUGIN_EXAMPLE = Path(__file__).with_name("plugin_example")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-bounds", action="store_true",
                     help="also run the expected-bounds runs (marker 'bounds', about 25 min alone on 2 cores; CI runs them)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The `bounds` tests are skipped, with a reason that says how to run them, unless --run-bounds
    is given (`.ci/run` gives it) or -m selects them by name."""
    if config.getoption("--run-bounds") or "bounds" in (config.getoption("markexpr") or "").replace("not bounds", ""):
        return
    skip = pytest.mark.skip(reason="expected-bounds run: bash scripts/test.sh --run-bounds (CI runs it; "
                                   "tests/benchmarks/test_bounds_inputs.py is its proxy here)")
    for it in items:
        if it.get_closest_marker("bounds"):
            it.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test session gets its own DenseBench home: no cached checkpoint or result leaks in."""
    home = tmp_path_factory.mktemp("densebench_home")
    old = os.environ.get("DENSEBENCH_HOME")
    os.environ["DENSEBENCH_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("DENSEBENCH_HOME", None)
    else:
        os.environ["DENSEBENCH_HOME"] = old


@pytest.fixture(autouse=True)
def no_shipped_records(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tests read an empty shipped store (leaderboards/measured/ changes as DenseBench ships
    records; a test's table must not), unless marked `real_shipped`."""
    if request.node.get_closest_marker("real_shipped") is None:
        from leaderboards import shipped
        monkeypatch.setattr(shipped, "SHIPPED_ROOT", tmp_path_factory.getbasetemp() / "no-shipped-records")


@pytest.fixture(scope="session")
def tiny_coco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic COCO (24 train / 8 val images, 64-80 px), written once per session."""
    from harness.data.coco import write_synthetic_coco
    return write_synthetic_coco(tmp_path_factory.mktemp("data") / "coco", seed=3, n_train=24, n_val=8, size=(64, 80))


def recipe(method: str, name: str = "mini", overrides: dict | None = None):
    """A method's recipe as the registry reads it from recipes/<method>.yaml (+ overrides)."""
    from harness.recipe import with_overrides
    from harness.registry import METHODS
    return with_overrides(METHODS.card(method).recipe(name), overrides)


@pytest.fixture(scope="session")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process that sees tests/plugin_example (method rotnet, task toy_rank)
    pip-installed into a separate folder, as a user's plugin package would be."""
    site, src = tmp_path_factory.mktemp("plugin_site"), tmp_path_factory.mktemp("plugin_src") / "example"
    shutil.copytree(PLUGIN_EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))  # builds write there
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--target", str(site), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
