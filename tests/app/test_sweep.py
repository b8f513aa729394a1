"""bench sweep: the trials a paper table needs, pre-trainings before evaluations, recorded trials skipped."""
from pathlib import Path

import pytest

from harness.errors import BenchError
from app import sweep
from leaderboards.published import all_tables


def test_plan_covers_registered_methods_measured_columns_and_seeds():
    t = all_tables()["orl_coco_det"]
    trials = sweep.plan(t, "mini", [0, 1])
    methods = {x.method for x in trials}
    assert {"random", "mocov2", "densecl", "byol", "orl"} <= methods and None not in methods
    assert {(x.task, x.protocol) for x in trials} == {("coco_det", "r50_fpn_4conv1fc_syncbn_1x")}
    assert len(trials) == len(methods) * 2
    assert sweep.Trial("orl", "mini", "coco_det", "p", 2).run_args("mini")[-4:] == ["--pretrain-seed", "2", "--seed", "2"]
    with_ck = sweep.Trial("orl", "mini", "coco_det", "p", 2).run_args("mini", Path("/c/x.safetensors"))
    assert with_ck[:3] == ["run", "--checkpoint", "/c/x.safetensors"] and "--method" not in with_ck and with_ck[-2:] == ["--seed", "2"]


def test_plan_refuses_a_table_with_nothing_to_measure():
    t = all_tables()["orl_classification"]
    with pytest.raises(BenchError, match="nothing DenseBench can measure"):
        sweep.plan(t, "mini", [0])


def test_run_pretrains_first_then_evaluates_only_what_is_missing(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sweep, "recorded", lambda t, *a: t.seed == 0)  # seed 0 recorded before
    monkeypatch.setattr(sweep, "_bench", lambda args, env, log: calls.append((args[0], env.get("OMP_NUM_THREADS"))) or 0)
    import harness.runs
    monkeypatch.setattr(harness.runs, "checkpoint_path", lambda m, r, s, d: tmp_path / f"{m}-{s}.safetensors")
    trials = [sweep.Trial(m, "mini", "coco_det", "p", s) for m in ("a", "b") for s in (0, 1)]
    r = sweep.run(trials, "mini", 1, None, None, tmp_path / "log", progress=False)
    assert r == {"trials": 4, "skipped": 2, "ran": 2, "failed": []}
    assert [c[0] for c in calls] == ["pretrain", "pretrain", "run", "run"]
    calls.clear()
    monkeypatch.setattr(sweep, "_bench", lambda args, env, log: calls.append(args[0]) or 1)
    r = sweep.run(trials, "mini", 1, None, None, tmp_path / "log", progress=False)
    assert r["failed"] == ["pretrain --method a --recipe mini --seed 1", "pretrain --method b --recipe mini --seed 1"]
    assert calls == ["pretrain", "pretrain"]  # no evaluation of a checkpoint whose pre-training failed


def test_cli_names_an_unknown_table(capsys):
    from app.cli import main
    assert main(["sweep", "--table", "pixpro_t9"]) == 2
    assert "did you mean" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluations_with_fewer_threads_use_the_pretrained_checkpoint(tmp_path, monkeypatch):
    """With 2 evaluations at once on 2 cores each runs with 1 intra-op thread, and the thread count is
    part of a pre-training's cache key: the evaluations must read the checkpoint the sweep's own
    pre-training wrote (not key, and train, one of their own), so that a second sweep finds every
    trial recorded. (Before the fix: a second random-init entry per seed, and the second sweep re-ran all.)"""
    monkeypatch.setenv("DENSEBENCH_HOME", str(tmp_path))
    trials = [sweep.Trial("random", "mini", "davis_vos", "videowalk", s) for s in (0, 1)]
    first = sweep.run(trials, "mini", 2, str(tmp_path / "res"), None, tmp_path / "log", progress=False)
    assert first["ran"] == 2 and not first["failed"], (tmp_path / "log").read_text()[-2000:]
    assert len([p for p in (tmp_path / "checkpoints" / "random").iterdir() if p.is_dir()]) == 2  # one per seed
    again = sweep.run(trials, "mini", 2, str(tmp_path / "res"), None, tmp_path / "log", progress=False)
    assert again == {"trials": 2, "skipped": 2, "ran": 0, "failed": []}


def test_cli_reports_what_ran_and_its_wall_time_then_prints_the_table(tmp_path, monkeypatch, capsys):
    from app.cli import main
    monkeypatch.setenv("DENSEBENCH_HOME", str(tmp_path))
    monkeypatch.setattr(sweep, "run", lambda trials, *a, **k: {"trials": len(trials), "skipped": len(trials), "ran": 0, "failed": []})
    (tmp_path / "res").mkdir()  # a sweep's results root exists once it ran (a named one that does not is refused)
    assert main(["sweep", "--table", "zhang_maire_t1", "--results-root", str(tmp_path / "res")]) == 0
    out = capsys.readouterr().out
    assert "6 trials: 6 recorded before, 0 run, 0 failed in 0.0 min of wall time" in out
    assert "| Random Init | published | 13.0 |" in out
