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


def test_plan_refuses_a_table_with_nothing_to_measure(tmp_path):
    # every seed table now has a measured column: a table file of published values only
    from leaderboards.published import load_own
    f = tmp_path / "published_only.yaml"
    f.write_text("id: published_only\ncolumns:\n  - {id: x, header: X, measured: false, why: elsewhere}\n")
    t = load_own(f)
    with pytest.raises(BenchError, match="nothing DenseBench can measure"):
        sweep.plan(t, "mini", [0])


def test_plan_for_a_row_of_ones_own():
    t = all_tables()["zhang_maire_t3"]
    own = sweep.plan(t, "mini", [0, 1], method="pixpro")                 # not among the table's rows
    assert {(x.method, x.recipe) for x in own} == {("pixpro", "mini")} and len(own) == 2
    with pytest.raises(BenchError, match="--recipe 'nope': method 'pixpro' has no such recipe"):
        sweep.plan(t, "mini", [0], method="pixpro", recipe="nope")
    ck = sweep.plan(t, "mini", [3], checkpoint="/c/mine.safetensors", label="mine")
    assert [(x.method, x.recipe, x.file, x.seed) for x in ck] == [("mine", None, "/c/mine.safetensors", 3)]
    args = ck[0].run_args("mini")
    assert args[:5] == ["run", "--checkpoint", "/c/mine.safetensors", "--method", "mine"] and args[-2:] == ["--seed", "3"]


def test_tasks_table_is_every_task_default_protocol_and_headline_metric(capsys):
    from app.cli import main
    from harness.registry import TASKS
    t = sweep.tasks_table("all")
    assert [c.task for c in t.columns] == list(TASKS.names()) and t.rows == ()
    assert {c.task: (c.protocol, c.metric) for c in t.columns}["voc07_svm"] == ("svm_res5_lowshot", "mAP")
    assert [c.id for c in sweep.tasks_table("davis_vos,voc_retrieval").columns] == ["davis_vos", "voc_retrieval"]
    with pytest.raises(BenchError, match="--tasks: unknown task 'voc_sge'"):
        sweep.tasks_table("voc_sge")
    assert main(["sweep", "--tasks", "all", "--dry-run"]) == 2
    assert "--tasks: with --method M or --checkpoint FILE" in capsys.readouterr().err
    assert main(["sweep", "--tasks", "davis_vos", "--method", "pixpro", "--seeds", "0", "--dry-run"]) == 0
    assert "pending   pixpro/mini seed 0  davis_vos/videowalk" in capsys.readouterr().out


@pytest.mark.slow
def test_a_checkpoint_of_ones_own_goes_through_sweep_table_and_compare(tmp_path, capsys):
    """An imported checkpoint as a row of zhang_maire_t3 (DAVIS label propagation: no training, so
    quick), beside random init, then compared: the workflow of issue 44 end to end."""
    import torch
    import torchvision

    from app.cli import main
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / "tv.pth")
    assert main(["import", "--from", "auto", "--method", "mine", str(tmp_path / "tv.pth"), str(tmp_path / "mine.safetensors")]) == 0
    res = ["--results-root", str(tmp_path / "res"), "--seeds", "0"]
    assert main(["sweep", "--table", "zhang_maire_t3", "--checkpoint", str(tmp_path / "mine.safetensors"), *res]) == 0
    assert main(["sweep", "--table", "zhang_maire_t3", "--method", "random", *res]) == 0
    capsys.readouterr()
    assert main(["table", "zhang_maire_t3", "--no-shipped", "--results-root", str(tmp_path / "res")]) == 0
    table = capsys.readouterr().out
    assert "| mine / " in table and "| random / mini@v1 | measured (mini) |" in table
    assert main(["compare", "mine", "random", "--table", "zhang_maire_t3", "--no-shipped",
                 "--results-root", str(tmp_path / "res")]) == 0
    out = capsys.readouterr().out
    assert "mine is ahead of random on" in out and "| J (Mean) | 1 | 1 | 1 |" in out
    assert main(["sweep", "--tasks", "davis_vos", "--checkpoint", str(tmp_path / "mine.safetensors"), *res]) == 0
    assert "| mine / " in capsys.readouterr().out                      # recorded above: printed, nothing run


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
    assert "12 trials: 12 recorded before, 0 run, 0 failed in 0.0 min of wall time" in out  # 2 methods x 2 columns x 3 seeds
    assert "| Random Init | published | 13.0 |" in out
