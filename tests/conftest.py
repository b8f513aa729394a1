"""Session fixtures: an isolated DENSEBENCH_HOME, and tiny synthetic data built once per session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness  # noqa: F401  (before torch: sets how OpenMP threads wait, harness/threads.py)
import torch  # noqa: E402

torch.set_num_threads(2)


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
