"""Every `mini` protocol carries `expected` bounds for its headline metric at seed 0, for `mocov2` and
`random` (Detectron2 keeps such bounds for its quick configs). The slow tests run the default mini
protocol of every task through `bench run` for both and check the bounds and that MoCo v2 is ahead,
so a change that breaks the separation between a pre-trained backbone and random init fails CI.
The bounds are the range of the seed-0 values measured on three CPUs at 2 threads and on one of
them at 1 thread, widened by 3 points: the same code and seed round differently under another CPU's
kernels or another thread count, and a mini run then moves as another seed would (up to 2.8 points
measured, docs/measured-mini-bounds.md, "Expected bounds of every mini protocol").

The runs go through a pool of one-thread processes, one per CPU (at most 4), not one after another
with every CPU: on 2 cores two one-thread runs side by side did the work of two 2-thread runs one
after the other 1.4x (voc_seg) to 1.7x (coco_det) sooner, and the nine separation tests took 24.4
instead of 30.8 min (docs/measured-speed.md, "Tests")."""
import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.checkpoint import expected_keys
from harness.registry import TASKS
from harness.threads import cpu_count

# Protocols whose mini bounds are not measured yet, each with the issue that will measure them. The
# bounds test is expected to fail for them (strict: adding the bounds without removing the entry fails),
# and their separation runs are skipped until then.
PENDING: dict[tuple[str, str], str] = {
    # measured 2026-12-08 (AMD EPYC, 2 threads, seed 0): MoCo v2 is not ahead of random init at mini, so
    # no bounds can say it is (docs/measured-mini-bounds.md); issue 43 leaves the mini design open
    ("semi_cls", "imagenet_10pct"): "issue 43: MoCo v2 33.5 against random 36.5 top-1 at mini: no separation to bound",
    ("semi_cls", "imagenet_1pct"): "issue 43: MoCo v2 21.0 against random 27.0 top-1 at mini: no separation to bound",
}


def _params(pairs):
    return [pytest.param(t, p, id=f"{t}/{p}", marks=pytest.mark.xfail(reason=PENDING[(t, p)], strict=True))
            if (t, p) in PENDING else pytest.param(t, p, id=f"{t}/{p}") for t, p in pairs]


ALL = [(t, pid) for t in TASKS.names() for pid in TASKS.protocols(t)]
DEFAULTS = [(t, TASKS.protocol(t, None).id) for t in TASKS.names()]


@pytest.mark.parametrize("task,pid", _params(ALL))
def test_every_mini_protocol_has_expected_bounds(task, pid):
    exp = TASKS.protocol(task, pid).expected()
    assert exp is not None, f"{task}/{pid}: mini.expected missing"
    assert exp.metric in TASKS.card(task).metric_names
    for lo, hi in (exp.mocov2, exp.random):
        assert lo < hi
    assert exp.mocov2[1] > exp.random[1]  # the bounds themselves say MoCo v2 is ahead


def bench_run(method: str, task: str, pid: str, results) -> dict:
    """`bench run ... --seed 0 --json` in a one-thread subprocess (OMP_NUM_THREADS=1): its record."""
    cmd = [sys.executable, "-m", "app.cli", "run", "--method", method, "--task", task, "--protocol", pid,
           "--scale", "mini", "--seed", "0", "--json", "--results-root", str(results)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1  # --json: stdout is the record alone
    return json.loads(lines[0])


# Tasks by the time of their two runs, longest first (seconds alone on 2 threads, 2026-12-02, README
# "Tests"); the pool takes them in this order, so the last runs are short and the slots finish together.
LONGEST_FIRST = ("ade_seg", "coco_det", "coco_det_c4", "voc_det", "cityscapes_seg", "voc_seg",
                 "voc_aspp_frozen", "linear_cls", "semi_cls", "voc07_svm", "voc_retrieval", "cocostuff_unsup", "davis_vos")


@pytest.fixture(scope="session")
def separation_runs(request, tmp_path_factory) -> tuple[Path, dict[tuple[str, str, str], Future]]:
    """Starts the two `bench run`s of every selected separation test at once, on a pool of
    one-thread processes. Yields the results folder, under which the two runs of task t and protocol
    p have their own results root t.p, and a map of (task, protocol, method) to the run's future record.

    Each protocol's MoCo v2 run is queued before its random one: the first MoCo v2 run pre-trains
    (the others wait for it on the cache entry's lock, harness/runs.py) while random runs proceed."""
    name = test_default_mini_protocol_separates_mocov2_from_random.__name__
    pairs = {(it.callspec.params["task"], it.callspec.params["pid"]) for it in request.session.items
             if getattr(it, "originalname", None) == name and not it.get_closest_marker("skip")}
    order = sorted(pairs, key=lambda tp: (LONGEST_FIRST.index(tp[0]) if tp[0] in LONGEST_FIRST else len(LONGEST_FIRST), tp))
    pool = ThreadPoolExecutor(max_workers=min(cpu_count(), 4))
    root = tmp_path_factory.mktemp("separation")
    futures = {(t, p, m): pool.submit(bench_run, m, t, p, root / f"{t}.{p}")
               for t, p in order for m in ("mocov2", "random")}
    yield root, futures
    pool.shutdown(wait=True, cancel_futures=True)


# The two tasks that train nothing (label propagation, k-means retrieval: DenseBench's own code, about a
# minute for both runs) stay in every full run of the suite; the seven that fine-tune or train a head
# through Detectron2 or mmsegmentation (about 25 min alone) carry the marker `bounds`: CI runs them
# (`.ci/run`: scripts/test.sh --run-bounds), and tests/benchmarks/test_bounds_inputs.py pins their
# inputs in every run (issue 41 part 6).
IN_EVERY_RUN = ("davis_vos", "voc_retrieval")


def _separation_params():
    for t, p in DEFAULTS:
        marks = [pytest.mark.skip(reason=PENDING[(t, p)])] if (t, p) in PENDING else []
        yield pytest.param(t, p, id=f"{t}/{p}", marks=marks if t in IN_EVERY_RUN else [*marks, pytest.mark.bounds])


@pytest.mark.slow
@pytest.mark.parametrize("task,pid", list(_separation_params()))
def test_default_mini_protocol_separates_mocov2_from_random(task, pid, separation_runs):
    exp = TASKS.protocol(task, pid).expected()
    root, futures = separation_runs
    got, walls = {}, []
    for method in ("mocov2", "random"):  # the mocov2 mini pre-training is cached in the session's home
        rec = futures[(task, pid, method)].result()
        assert rec["method"] == method and rec["protocol_full"] == TASKS.protocol(task, pid).full_id
        assert rec["scale"] == "mini" and rec["seed"] == 0 and len(rec["checkpoint_sha256"]) == 64
        got[method] = rec["metrics"][exp.metric]
        walls.append(rec["wall_s"])
        n = len(expected_keys("resnet18"))  # every backbone tensor, BN statistics included, nothing dropped
        if "conversion" in rec["notes"] and task in ("coco_det", "coco_det_c4", "voc_det", "voc_seg", "cityscapes_seg", "ade_seg", "voc_aspp_frozen"):
            assert rec["notes"]["conversion"].startswith(f"{n} tensors converted, 0 dropped"), rec["notes"]
        if "backbone_unchanged_by_training" in rec["notes"]:  # the frozen probe leaves it bit-identical
            assert rec["notes"]["backbone_unchanged_by_training"] is (task == "voc_aspp_frozen")
    print(f"{task}/{pid} {exp.metric}: mocov2 {got['mocov2']}, random {got['random']} (fine-tunes {walls} s)")
    assert exp.mocov2[0] <= got["mocov2"] <= exp.mocov2[1], (exp.metric, got)
    assert exp.random[0] <= got["random"] <= exp.random[1], (exp.metric, got)
    assert got["mocov2"] > got["random"]
    out = subprocess.run([sys.executable, "-m", "app.cli", "results", "--results-root", str(root / f"{task}.{pid}")],
                         capture_output=True, text=True, check=True).stdout
    assert "2 runs indexed" in out


class _Item:
    def __init__(self, bounds: bool):
        self.bounds, self.marks = bounds, []

    def get_closest_marker(self, name):
        return object() if name == "bounds" and self.bounds else None

    def add_marker(self, mark):
        self.marks.append(mark)


class _Config:
    def __init__(self, run_bounds: bool, markexpr: str):
        self.opts = {"--run-bounds": run_bounds, "markexpr": markexpr}

    def getoption(self, name):
        return self.opts[name]


@pytest.mark.parametrize("run_bounds,markexpr,skipped", [(False, "", True), (False, "not slow", True),
                                                         (False, "slow and not bounds", True), (True, "", False),
                                                         (False, "bounds", False)])
def test_bounds_runs_are_skipped_unless_asked_for(run_bounds, markexpr, skipped):
    """tests/conftest.py: a `bounds` test is skipped, naming the command that runs it, unless
    --run-bounds is given or -m selects the marker; other tests are never touched."""
    from tests.conftest import pytest_collection_modifyitems
    bounds, other = _Item(True), _Item(False)
    pytest_collection_modifyitems(_Config(run_bounds, markexpr), [bounds, other])
    assert other.marks == []
    assert bool(bounds.marks) is skipped
    if skipped:
        assert "bash scripts/test.sh --run-bounds" in bounds.marks[0].kwargs["reason"]
