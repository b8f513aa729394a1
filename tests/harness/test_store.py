import json
import sqlite3

import pytest

from benchmarks.base import load_protocols
from harness import store
from harness.errors import BenchError


def _record(tmp_path, method, seed, ap, sha="ab" * 32):
    proto = load_protocols("coco_det")["r50_fpn_4conv1fc_syncbn_1x"]
    d = store.new_run_dir(tmp_path, "coco_det", proto, "mini", method, sha, seed)
    rec = store.make_record(method=method, checkpoint="x", checkpoint_sha256=sha, checkpoint_meta={}, task="coco_det",
                            protocol=proto, profile="mini", seed=seed, metrics={"bbox/AP": ap, "segm/AP": ap - 5},
                            config={"a": 1}, notes={}, wall_s=1.0)
    store.write_record(d, rec)
    return rec


def test_record_fields_and_atomic_write(tmp_path):
    rec = _record(tmp_path, "mocov2", 0, 30.0)
    for key in ("method", "checkpoint_sha256", "task", "protocol", "protocol_version", "profile", "seed", "metrics",
                "config_hash", "git_commit", "versions", "wall_s", "world_size"):
        assert key in rec
    assert rec["protocol_full"] == "coco_det/r50_fpn_4conv1fc_syncbn_1x@2"
    files = list(tmp_path.rglob("*"))
    assert any(p.name == "record.json" for p in files) and not any(".tmp" in p.name for p in files)


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
    from harness.cli import main
    for seed, ap in enumerate([30.0, 32.0]):
        _record(tmp_path, "mocov2", seed, ap)
    _record(tmp_path, "random", 0, 25.0, sha="cd" * 32)
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "coco_det/r50_fpn_4conv1fc_syncbn_1x@2 (mini)" in out
    assert "| mocov2 | abababab | 2 | **31.0 +- 1.4** | **26.0 +- 1.4** |" in out
    assert "| random | cdcdcdcd | 1 | 25.0 | 20.0 |" in out
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["bbox/AP"] == {"mean": 31.0, "std": pytest.approx(1.41421356)} and rows[1]["bbox/AP"]["std"] is None
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path / "empty")]) == 2


def test_leaderboard_rerun_of_a_seed_replaces_it(tmp_path, capsys):
    import time
    from harness.cli import main
    _record(tmp_path, "mocov2", 0, 10.0)
    time.sleep(1.1)  # records are stamped to the second
    _record(tmp_path, "mocov2", 0, 30.0)  # the same seed run again: the later record counts, once
    _record(tmp_path, "mocov2", 1, 32.0)
    assert main(["leaderboard", "--task", "coco_det", "--results-root", str(tmp_path)]) == 0
    assert "| mocov2 | abababab | 2 | 31.0 +- 1.4 | 26.0 +- 1.4 |" in capsys.readouterr().out  # one row: nothing to mark
