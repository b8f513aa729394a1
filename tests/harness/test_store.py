import json
import sqlite3

import pytest

from pathlib import Path

from harness import store
from harness.api import TaskResult
from harness.checkpoint import Checkpoint
from harness.errors import BenchError
from harness.registry import TASKS


def _record(tmp_path, method, seed, ap, sha="ab" * 32, lower_is_better=()):
    proto = TASKS.protocol("coco_det", "r50_fpn_4conv1fc_syncbn_1x")
    staged, final = store.stage_run_dir(tmp_path, "coco_det", proto, "mini", method, sha, seed)
    ck = Checkpoint(Path("x"), {}, {"method": method, "arch": "resnet18", "weights_sha256": sha[::-1], "seed": 0}, sha)
    direction = {**TASKS.card("coco_det").direction(), **{m: False for m in lower_is_better}}
    rec = store.make_record(checkpoint=ck, task="coco_det", protocol=proto, scale="mini", seed=seed,
                            result=TaskResult({"bbox/AP": ap, "segm/AP": ap - 5}, "config"), direction=direction,
                            wall_s=1.0, world_size=1)
    store.write_record(staged, rec)
    store.publish_run_dir(staged, final)
    return rec


def test_record_fields_and_atomic_write(tmp_path):
    rec = _record(tmp_path, "mocov2", 0, 30.0)
    for key in ("method", "checkpoint_sha256", "weights_sha256", "task", "protocol", "protocol_version", "scale", "seed",
                "metrics", "higher_is_better", "config_hash", "git_commit", "versions", "wall_s", "world_size",
                "torch_threads"):
        assert key in rec
    assert rec["protocol_full"] == "coco_det/r50_fpn_4conv1fc_syncbn_1x@3"
    # the machine it was measured on (a mini number moves with the CPU): model, usable CPUs, GPU
    assert set(rec["machine"]) == {"cpu", "cpus", "gpu"} and rec["machine"]["cpus"] >= 1 and rec["machine"]["cpu"]
    files = list(tmp_path.rglob("*"))
    assert any(p.name == "record.json" for p in files) and not any(".tmp" in p.name for p in files)
    assert rec["higher_is_better"] == {"bbox/AP": True, "segm/AP": True}
    assert not any((tmp_path / store.STAGING).iterdir())  # the staged run was moved into place


def test_index_rebuild_is_idempotent(tmp_path):
    for seed, ap in enumerate([30.0, 32.0]):
        _record(tmp_path, "mocov2", seed, ap)
    _record(tmp_path, "random", 0, 25.0, sha="cd" * 32)

    def dump():
        con = sqlite3.connect(store.rebuild_index(tmp_path))
        rows = (sorted(con.execute("SELECT method, seed, protocol FROM runs")),
                sorted(con.execute("SELECT name, value FROM metrics")))
        con.close()
        return rows
    first = dump()
    assert dump() == first and len(first[0]) == 3 and len(first[1]) == 6


def test_corrupt_record_is_named(tmp_path):
    _record(tmp_path, "mocov2", 0, 30.0)
    path = next(tmp_path.rglob("record.json"))
    path.write_text("{")
    with pytest.raises(BenchError, match="corrupt result record"):
        store.iter_records(tmp_path)


def test_leaderboard_mean_std_best(tmp_path, capsys):
    from app.cli import main
    for seed, ap in enumerate([30.0, 32.0]):
        _record(tmp_path, "mocov2", seed, ap)
    _record(tmp_path, "random", 0, 25.0, sha="cd" * 32)
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "coco_det/r50_fpn_4conv1fc_syncbn_1x@3 (mini)" in out
    assert "| mocov2 | babababa | 2 | **31.0 +- 1.4** | **26.0 +- 1.4** |" in out
    assert "| random | dcdcdcdc | 1 | 25.0 | 20.0 |" in out
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["bbox/AP"] == {"mean": 31.0, "std": pytest.approx(1.41421356)} and rows[1]["bbox/AP"]["std"] is None
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path / "empty")]) == 2


def test_leaderboard_rerun_of_a_seed_replaces_it(tmp_path, capsys):
    import time
    from app.cli import main
    _record(tmp_path, "mocov2", 0, 10.0)
    time.sleep(1.1)  # records are stamped to the second
    _record(tmp_path, "mocov2", 0, 30.0)  # the same seed run again: the later record counts, once
    _record(tmp_path, "mocov2", 1, 32.0)
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path)]) == 0
    assert "| mocov2 | babababa | 2 | 31.0 +- 1.4 | 26.0 +- 1.4 |" in capsys.readouterr().out  # one row: nothing to mark


def test_format_1_records_are_still_read_and_indexed(tmp_path, capsys):
    """A record written before the recipe/scale split (record_version 1, `profile`) is read as format 2."""
    from app.cli import main
    _record(tmp_path, "mocov2", 0, 30.0)
    old = {"record_version": 1, "method": "random", "checkpoint": "x", "checkpoint_sha256": "cd" * 32,
           "task": "coco_det", "protocol": "r50_fpn_4conv1fc_syncbn_1x", "protocol_version": 2,
           "protocol_full": "coco_det/r50_fpn_4conv1fc_syncbn_1x@2", "profile": "mini", "seed": 0,
           "metrics": {"bbox/AP": 20.0, "segm/AP": 15.0}, "created": "2026-11-24T10:00:00+0000", "wall_s": 1.0}
    d = tmp_path / "coco_det" / "r50_fpn_4conv1fc_syncbn_1x@2" / "mini" / "random-old"
    d.mkdir(parents=True)
    (d / "record.json").write_text(json.dumps(old))
    recs = {r["method"]: r for r in store.iter_records(tmp_path)}
    assert recs["random"]["scale"] == "mini" and recs["random"]["record_version"] == 2
    con = sqlite3.connect(store.rebuild_index(tmp_path))
    assert sorted(con.execute("SELECT method, scale FROM runs")) == [("mocov2", "mini"), ("random", "mini")]
    con.close()
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path)]) == 0
    assert "| random | cdcdcdcd | 1 | 20.0 | 15.0 |" in capsys.readouterr().out


def test_leaderboard_marks_the_lowest_of_a_lower_is_better_metric():
    import pandas as pd
    from leaderboards.table import render, summarise
    df = pd.DataFrame([{"protocol": "t/p@1", "scale": "mini", "method": m, "checkpoint": m, "seed": 0, "err": v}
                       for m, v in (("a", 3.0), ("b", 1.0))])
    out = render(summarise(df, ["err"]), "md", {"err": False})
    assert "| b | b | 1 | **1.0** |" in out and "| a | a | 1 | 3.0 |" in out
    assert "| a | a | 1 | **3.0** |" in render(summarise(df, ["err"]), "md", {"err": True})


def test_identity_is_the_weights_and_deterministic_tasks_count_one_seed(tmp_path, capsys):
    """Two files of the same weights (two homes) are one row; a task whose card says uses_seed: false
    (davis_vos) counts one seed however many were asked for, and says so."""
    from app.cli import main
    proto = TASKS.protocol("davis_vos", None)
    for k, (file_sha, seed) in enumerate([("aa" * 32, 0), ("bb" * 32, 1), ("aa" * 32, 2)]):
        staged, final = store.stage_run_dir(tmp_path, "davis_vos", proto, "mini", "mocov2", file_sha, seed)
        ck = Checkpoint(Path("x"), {}, {"method": "mocov2", "arch": "resnet18", "weights_sha256": "e" * 64, "seed": 0},
                        file_sha)
        rec = store.make_record(checkpoint=ck, task="davis_vos", protocol=proto, scale="mini", seed=seed,
                                result=TaskResult({"J&F-Mean": 22.0, "J-Mean": 21.0, "F-Mean": 23.0}, "c"),
                                direction=TASKS.card("davis_vos").direction(), wall_s=1.0, world_size=1,
                                seed_used=TASKS.card("davis_vos").uses_seed)
        assert rec["seeds"] == {"pretrain": 0, "downstream": None}
        store.write_record(staged, rec)
        store.publish_run_dir(staged, final)
    assert main(["leaderboard", "--task", "davis_vos", "--results-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("| mocov2 |") == 1 and "| mocov2 | eeeeeeee | 1 (deterministic) | 22.0 | 21.0 | 23.0 |" in out


def test_pretraining_seeds_of_one_recipe_pool_into_one_row(tmp_path, capsys):
    """Checkpoints DenseBench pre-trained with one recipe at seeds 0-2 are one row of 3 trials (each
    pre-training seed x downstream seed one trial); an imported checkpoint stays a row of its weights."""
    from app.cli import main
    proto = TASKS.protocol("coco_det", "r50_fpn_4conv1fc_syncbn_1x")
    for pseed, ap in ((0, 30.0), (1, 32.0), (2, 34.0), (None, 20.0)):
        sha = (f"{pseed}" if pseed is not None else "f") * 64
        meta = {"method": "orl", "arch": "resnet18", "weights_sha256": sha, "seed": pseed,
                "recipe": "mini" if pseed is not None else None, "recipe_version": 1}
        staged, final = store.stage_run_dir(tmp_path, "coco_det", proto, "mini", "orl", sha, 0)
        rec = store.make_record(checkpoint=Checkpoint(Path("x"), {}, meta, sha), task="coco_det", protocol=proto,
                                scale="mini", seed=0, result=TaskResult({"bbox/AP": ap, "segm/AP": ap}, "c"),
                                direction=TASKS.card("coco_det").direction(), wall_s=1.0, world_size=1)
        store.write_record(staged, rec)
        store.publish_run_dir(staged, final)
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| orl | mini@v1 | 3 | **32.0 +- 2.0** | **32.0 +- 2.0** |" in out
    assert "| orl | ffffffff | 1 | 20.0 | 20.0 |" in out
