"""The shipped reference store (leaderboards/measured/): read beside the user's store with the user's
trials winning, rows marked, read-only for runs, filled by `bench ship`, sampled by `bench sweep
--verify`, and the README's tables generated from it (`bench docs`)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import ship as ship_mod
from app import verify
from app.cli import main
from harness import store
from harness.errors import BenchError
from leaderboards import shipped
from leaderboards.published import all_tables

TASK, PROTO, VERSION = "voc_aspp_frozen", "aspp_frozen_384_20k", 2
MACHINE = {"cpu": "Test CPU 9000", "cpus": 2, "gpu": None}


def record(method: str, seed: int, miou: float, recipe_version: int, created: str = "2026-12-07T10:00:00+0000",
           machine: dict | None = MACHINE) -> dict:
    """A complete mini record of zhang_maire_t1's measured column (voc_aspp_frozen, current version)."""
    r = {"record_version": 2, "method": method, "task": TASK, "protocol": PROTO, "protocol_version": VERSION,
         "protocol_full": f"{TASK}/{PROTO}@{VERSION}", "scale": "mini", "seed": seed,
         "seeds": {"pretrain": seed, "downstream": seed}, "metrics": {"mIoU": miou}, "higher_is_better": {"mIoU": True},
         "checkpoint": "x", "checkpoint_sha256": f"{method[:4]}{seed}".ljust(64, "0"), "weights_sha256": None,
         "pretrain": {"recipe": "mini", "recipe_version": recipe_version, "seed": seed}, "artefacts": {},
         "config_hash": "c", "git_commit": "g", "versions": {"torch": "2.14.1"}, "wall_s": 90.0, "world_size": 1,
         "torch_threads": 2, "notes": [], "created": created}
    if machine is not None:
        r["machine"] = machine
    return r


VERSIONS = {"random": 1, "hiergroup": 2}


def write(root: Path, rec: dict, run: str | None = None) -> Path:
    run = run or f"{rec['method']}-{rec['checkpoint_sha256'][:8]}-s{rec['seed']}-{rec['created'][:10]}"
    p = root / TASK / f"{PROTO}@{VERSION}" / "mini" / run / "record.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps(rec))
    return p


@pytest.fixture
def shipped_store(tmp_path, monkeypatch) -> Path:
    """A shipped store of six trials (random 20.4/20.0/20.1, hiergroup 16.9/14.5/17.9), read-only marker included."""
    root = tmp_path / "measured"
    root.mkdir()
    (root / store.READ_ONLY_MARKER).write_text("shipped\n")
    for m, vals in (("random", [20.4, 20.0, 20.1]), ("hiergroup", [16.9, 14.5, 17.9])):
        for s, v in enumerate(vals):
            write(root, record(m, s, v, VERSIONS[m]))
    monkeypatch.setattr(shipped, "SHIPPED_ROOT", root)
    return root


def test_user_trial_wins_over_the_shipped_one_whatever_its_date():
    ship = [{**record("random", s, 20.0 + s, 1), "_shipped": True} for s in range(3)]
    mine = [record("random", 1, 30.0, 1, created="2020-01-01T00:00:00+0000")]   # older than the shipped one
    got = shipped.beside(mine, ship)
    assert [r["metrics"]["mIoU"] for r in got] == [30.0, 20.0, 22.0]
    assert shipped.origin(got) == "shipped + yours" and shipped.origin(ship) == "shipped" and shipped.origin(mine) == "yours"
    other = record("random", 1, 31.0, 1)
    other["protocol_version"] = 1                                               # another protocol version: another trial
    assert len(shipped.beside([other], ship)) == 4


def test_bench_table_marks_shipped_rows_and_names_their_machine(shipped_store, tmp_path, capsys):
    mine = tmp_path / "mine"
    write(mine, record("random", 0, 25.0, 1))
    assert main(["table", "zhang_maire_t1", "--results-root", str(mine)]) == 0
    out = capsys.readouterr().out
    assert "| random / mini@v1 | measured (mini, shipped + yours) | **21.7 +- 2.9 (n=3)** |" in out  # 25.0, 20.0, 20.1
    assert "| hiergroup / mini@v2 | measured (mini, shipped) | 16.4 +- 1.7 (n=3) ~ |" in out
    assert "- 5 shipped records: Test CPU 9000 (2 CPUs), no GPU, torch 2.14.1, 2 threads, 2026-12-07" in out
    assert main(["table", "zhang_maire_t1", "--results-root", str(mine), "--no-shipped"]) == 0
    out = capsys.readouterr().out
    assert "| random / mini@v1 | measured (mini) | 25.0 (n=1) |" in out and "hiergroup / mini" not in out
    assert main(["table", "zhang_maire_t1", "--results-root", str(mine), "--shipped-only"]) == 0
    assert "| random / mini@v1 | measured (mini, shipped) | **20.2 +- 0.2 (n=3)** |" in capsys.readouterr().out


def test_a_fresh_store_shows_the_shipped_rows_in_the_report(shipped_store, tmp_path):
    from leaderboards.report import build_report
    (tmp_path / "empty").mkdir()
    page = build_report(tmp_path / "site", str(tmp_path / "empty"), shipped=True).read_text()
    assert "measured (mini, shipped)" in page and "6 shipped records: Test CPU 9000" in page
    page = build_report(tmp_path / "site2", str(tmp_path / "empty"), shipped=False).read_text()
    assert "measured (mini, shipped)" not in page


def test_the_shipped_store_is_read_only_for_runs(shipped_store, capsys):
    before = sorted(p for p in shipped_store.rglob("*"))
    assert main(["run", "--method", "random", "--task", "davis_vos", "--results-root", str(shipped_store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "shipped reference store, read-only" in err
    with pytest.raises(BenchError, match="read-only"):
        store.rebuild_index(shipped_store)
    assert main(["sweep", "--table", "zhang_maire_t1", "--results-root", str(shipped_store)]) == 2
    assert sorted(p for p in shipped_store.rglob("*")) == before


def test_bench_ship_copies_the_table_records_and_replaces_the_same_trial(shipped_store, tmp_path, capsys):
    mine = tmp_path / "mine"
    src = write(mine, record("random", 0, 25.0, 1, created="2026-12-08T10:00:00+0000"), run="random-new-s0")
    write(mine, record("mocov2", 0, 22.0, 2), run="mocov2-s0")     # not a method of zhang_maire_t1: not shipped
    old = [p for p in shipped_store.rglob("record.json") if "/random-" in str(p) and "-s0-" in str(p)]
    assert len(old) == 1
    assert main(["ship", "--table", "zhang_maire_t1", "--results-root", str(mine)]) == 0
    assert "1 records of zhang_maire_t1 (mini)" in capsys.readouterr().out
    new = shipped_store / src.relative_to(mine)
    assert new.read_bytes() == src.read_bytes() and not old[0].exists()
    assert len(list(shipped_store.rglob("record.json"))) == 6
    assert not list(shipped_store.rglob("*mocov2*"))


def test_bench_ship_refuses_records_without_their_machine_and_an_empty_store(shipped_store, tmp_path, capsys):
    mine = tmp_path / "mine"
    (mine / "x").mkdir(parents=True)
    before = sorted(shipped_store.rglob("*"))
    assert main(["ship", "--table", "zhang_maire_t1", "--results-root", str(mine)]) == 2
    assert "holds no mini record of its measured columns" in capsys.readouterr().err
    p = write(mine, record("random", 0, 25.0, 1, machine=None))
    assert main(["ship", "--table", "zhang_maire_t1", "--results-root", str(mine)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{p}: lacks machine" in err
    assert main(["ship", "--table", "zhang_maire_t1", "--results-root", str(shipped_store)]) == 2
    assert "is the shipped store itself" in capsys.readouterr().err
    assert sorted(shipped_store.rglob("*")) == before


def test_verify_takes_bounded_trials_first_then_the_shipped_range_plus_margin(shipped_store):
    t = all_tables()["zhang_maire_t1"]
    cs = verify.checks(t, "mini", shipped.shipped_records())
    assert len(cs) == 6
    first = cs[0][0]                                   # the one trial the expected bounds cover: random seed 0
    assert (first.trial.method, first.trial.seed, first.bounds) == ("random", 0, (17.3, 23.4))
    assert first.why.startswith("expected bounds")
    hier = next(c[0] for c in cs if c[0].trial.method == "hiergroup")
    assert hier.bounds == pytest.approx((14.5 - 3, 17.9 + 3)) and "range over 3 trials +- 3" in hier.why
    rand1 = next(c[0] for c in cs if c[0].trial.method == "random" and c[0].trial.seed == 1)
    assert rand1.bounds == pytest.approx((17.0, 23.4))
    # the draw after the bounded trials is the same every time (seeded by table and scale)
    assert [c[0].trial for c in verify.checks(t, "mini", shipped.shipped_records())] == [c[0].trial for c in cs]


def test_verify_dry_run_lists_the_sample_and_runs_nothing(shipped_store, tmp_path, capsys):
    assert main(["sweep", "--table", "zhang_maire_t1", "--verify", "2", "--dry-run",
                 "--results-root", str(tmp_path / "mine")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("verify zhang_maire_t1 (mini): 2 shipped trials, about 3 min of evaluation by their records' "
                      "wall times, plus each pre-training not cached here")
    assert out[1].startswith("  random/mini seed 0 voc_aspp_frozen/aspp_frozen_384_20k: mIoU shipped 20.40, bounds [17.30, 23.40]")
    assert not (tmp_path / "mine").exists()
    assert main(["sweep", "--table", "zhang_maire_t1", "--verify", "--executor", "slurm"]) == 2
    assert "--verify runs here" in capsys.readouterr().err


def test_verify_with_nothing_shipped_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shipped, "SHIPPED_ROOT", tmp_path / "none")
    assert main(["sweep", "--table", "zhang_maire_t1", "--verify", "--dry-run"]) == 2
    assert "DenseBench ships no mini record of table 'zhang_maire_t1'" in capsys.readouterr().err


@pytest.mark.slow
def test_verify_end_to_end_reruns_a_shipped_trial_and_lands_within_its_bounds(tmp_path, monkeypatch, capsys):
    """A maintainer measures random init's seed-0 trial of zhang_maire_t3 (DAVIS label propagation)
    and ships it; a user's `--verify 1` re-runs it in a fresh home through the sweep's child processes
    and finds it within the protocol's expected bounds; then the user's record wins in the table."""
    from app import sweep as sweep_mod
    monkeypatch.setenv("DENSEBENCH_HOME", str(tmp_path / "maintainer"))
    first = sweep_mod.run([sweep_mod.Trial("random", "mini", "davis_vos", "zhang_maire", 0)], "mini", 1,
                          str(tmp_path / "measured_here"), None, tmp_path / "log", progress=False)
    assert first["ran"] == 1 and not first["failed"], (tmp_path / "log").read_text()[-2000:]
    root = tmp_path / "measured"
    root.mkdir()
    (root / store.READ_ONLY_MARKER).write_text("shipped\n")
    monkeypatch.setattr(shipped, "SHIPPED_ROOT", root)
    assert main(["ship", "--table", "zhang_maire_t3", "--results-root", str(tmp_path / "measured_here")]) == 0
    monkeypatch.setenv("DENSEBENCH_HOME", str(tmp_path / "user"))
    (tmp_path / "user_results").mkdir()
    capsys.readouterr()
    assert main(["sweep", "--table", "zhang_maire_t3", "--verify", "1", "--results-root", str(tmp_path / "user_results")]) == 0
    out = capsys.readouterr().out
    assert "verify zhang_maire_t3 (mini): 1 shipped trials" in out
    assert "  within  random/mini seed 0 davis_vos/zhang_maire J&F-Mean: shipped" in out
    assert "(expected bounds of davis_vos/zhang_maire (random, seed 0))" in out
    assert "  within  random/mini seed 0 davis_vos/zhang_maire J (Mean): shipped" in out
    assert "3 of 3 within their bounds" in out
    assert main(["table", "zhang_maire_t3", "--results-root", str(tmp_path / "user_results")]) == 0
    assert "| random / mini@v1 | measured (mini) |" in capsys.readouterr().out   # the user's record, not the shipped one
