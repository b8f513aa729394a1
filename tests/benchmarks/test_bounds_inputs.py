"""The cheap proxy of the expected-bounds runs, in every run of the suite.

Every mini protocol's `expected` bounds (seed 0, mocov2 and random) were measured with fixed inputs.
The full runs that check them for the default protocols (tests/benchmarks/test_expected.py) take
about 25 minutes alone on 2 cores for the seven that train a head or fine-tune (marker `bounds`), so
they run in CI (`.ci/run`: `bash scripts/test.sh --run-bounds`) and on request, not in the default
suite (issue 41 part 6). This test pins what those runs compute from:
- each mini protocol's resolved framework config, exactly as Detectron2 / mmengine / DenseBench's
  own probes receive it (`bench protocol show T/P --scale mini --resolved`, paths as placeholders);
- the identity of its synthetic data set (generator version and parameters: the cache folder's name);
- the identities of the two pre-trainings the bounds are for (mocov2 and random at mini: recipe,
  data, seed 0; the thread count, which also enters the cache key, is left out: it is the machine's).
A change to any of them fails here in seconds and names the protocol; then re-run its bounds
(`bash scripts/test.sh --run-bounds -k 'separates and TASK'`), re-measure them if they moved
(docs/measured-mini-bounds.md), and rewrite the fixture. What this proxy cannot see is a code change
inside a training or evaluation loop that leaves configs and data alone: the full runs in CI do.

The fixture (tests/fixtures/bounds_inputs.json) is written by
`python -m tests.benchmarks.test_bounds_inputs --write`, after the bounds runs passed.
"""
from __future__ import annotations

import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bounds_inputs.json"
PRETRAININGS = (("mocov2", "mini"), ("random", "mini"))


def current_inputs() -> dict[str, Any]:
    """{"protocols": {full_id: {"config": sha256[:16], "data": folder}}, "pretrainings": {m/r: hash}}."""
    from harness.data import synthetic_path
    from harness.registry import METHODS, TASKS
    from harness.runs import pretraining_identity
    from harness.schema import stable_hash
    protocols: dict[str, Any] = {}
    with warnings.catch_warnings():  # the frameworks' import-time deprecation notices
        warnings.simplefilter("ignore")
        for t in TASKS.names():
            task = TASKS.load(t)
            for pid in TASKS.protocols(t):
                p = TASKS.protocol(t, pid)
                s = p.settings("mini")
                protocols[p.full_id] = {
                    "config": hashlib.sha256(task.framework_config(s, "mini").encode()).hexdigest()[:16],
                    "data": synthetic_path(s.dataset.layout, **(s.dataset.synth or {})).name}
    pretrainings = {}
    for m, r in PRETRAININGS:
        pretrainings[f"{m}/{r}"] = stable_hash(pretraining_identity(m, METHODS.card(m).recipe(r), 0))
    return {"protocols": dict(sorted(protocols.items())), "pretrainings": pretrainings}


@pytest.fixture(scope="module")
def inputs() -> tuple[dict, dict]:
    """(pinned, current)."""
    return json.loads(FIXTURE.read_text()), current_inputs()


REDO = ("re-run its bounds (bash scripts/test.sh --run-bounds -k separates), re-measure them if they "
        "moved (docs/measured-mini-bounds.md), then: python -m tests.benchmarks.test_bounds_inputs --write")


def test_every_mini_protocol_is_pinned(inputs):
    pinned, now = inputs
    assert sorted(now["protocols"]) == sorted(pinned["protocols"]), (
        f"mini protocols added or removed: {sorted(set(now['protocols']) ^ set(pinned['protocols']))}; {REDO}")


def test_mini_protocols_compute_from_what_their_bounds_were_measured_with(inputs):
    pinned, now = inputs
    changed = {k: (pinned["protocols"][k], v) for k, v in now["protocols"].items()
               if k in pinned["protocols"] and pinned["protocols"][k] != v}
    assert not changed, f"changed since the bounds were measured (pinned, now): {changed}; {REDO}"


def test_the_two_pretrainings_are_the_measured_ones(inputs):
    pinned, now = inputs
    assert now["pretrainings"] == pinned["pretrainings"], (
        f"the mini pre-training of mocov2 or random changed (pinned, now): "
        f"{pinned['pretrainings']}, {now['pretrainings']}; every bound moves with it: {REDO}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.benchmarks.test_bounds_inputs --write")
    from harness.files import atomic_write_text
    atomic_write_text(FIXTURE, json.dumps(current_inputs(), indent=1) + "\n")
    print(f"wrote {FIXTURE}")
