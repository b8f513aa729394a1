"""Issue 40, silent wrong numbers and misleading messages: a record's metrics are checked when read
(finite, inside the range of the metric's unit), a record must say what its folder says, two
records of one trial that disagree are named, and each message says what is wrong."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.cli import main

PROTO = ("coco_det", "r50_fpn_4conv1fc_syncbn_1x", 3)


def _record(root: Path, run: str, ap: object = 40.0, scale: str = "mini", version: int = 3, folder_scale: str = "mini",
            folder_version: int = 3, created: str = "2026-12-01T10:00:00", seed: int = 0) -> Path:
    """A record as DenseBench writes it (bbox/AP given as JSON text, so NaN and Infinity can be written)."""
    task, proto, _ = PROTO
    rec = {"record_version": 2, "method": "mocov2", "task": task, "protocol": proto, "protocol_version": version,
           "protocol_full": f"{task}/{proto}@{version}", "scale": scale, "seed": seed,
           "seeds": {"pretrain": 0, "downstream": seed}, "metrics": {"bbox/AP": "@AP@", "segm/AP": 30.0},
           "pretrain": {"recipe": "mini", "recipe_version": 2}, "checkpoint_sha256": "ab" * 32, "created": created}
    d = root / task / f"{proto}@{folder_version}" / folder_scale / run
    d.mkdir(parents=True)
    (d / "record.json").write_text(json.dumps(rec).replace('"@AP@"', str(ap)))
    return d / "record.json"


def _leaderboard(root: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["leaderboard", "--task", "coco_det", "--results-root", str(root), *extra])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize("ap,fragment", [
    ("Infinity", "metric 'bbox/AP' is inf, expected a finite number"),
    ("-Infinity", "metric 'bbox/AP' is -inf, expected a finite number"),
    ("NaN", "metric 'bbox/AP' is nan, expected a finite number"),
    ("2250", "metric 'bbox/AP' is 2250, outside [0, 100] for a percent metric"),
    ("-0.5", "metric 'bbox/AP' is -0.5, outside [0, 100] for a percent metric"),
])
def test_a_metric_that_cannot_be_is_a_corrupt_record(ap, fragment, tmp_path, capsys):
    path = _record(tmp_path, "bad", ap)
    for argv in (["leaderboard", "--task", "coco_det"], ["table", "pixpro_t1"], ["report", "--out", str(tmp_path / "s")]):
        code = main([*argv, "--results-root", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and f"{path}: corrupt result record ({fragment}" in err, err
    assert main(["results", "--results-root", str(tmp_path)]) == 0  # indexed without it, and said so
    cap = capsys.readouterr()
    assert "0 runs indexed, 1 malformed records skipped" in cap.out and fragment in cap.err


def test_a_plugin_metric_is_checked_against_its_own_unit(tmp_path):
    """The units are the task card's (harness.protocol.UNITS): the card's ranges, not one rule for all."""
    from harness.protocol import UNITS, MetricSpec
    assert MetricSpec("erank", "nonnegative").range == (0.0, float("inf")) and UNITS["fraction"] == (0.0, 1.0)
    from harness.registry import TASKS
    assert {m.unit for t in TASKS.names() if t != "toy_rank" for m in TASKS.card(t).metrics} == {"percent"}


@pytest.mark.parametrize("field,fragment", [
    ("scale", "it says coco_det/r50_fpn_4conv1fc_syncbn_1x@3/paper, but lies in coco_det/r50_fpn_4conv1fc_syncbn_1x@3/mini/"),
    ("version", "it says coco_det/r50_fpn_4conv1fc_syncbn_1x@2/mini, but lies in coco_det/r50_fpn_4conv1fc_syncbn_1x@3/mini/"),
])
def test_a_record_that_disagrees_with_its_folder_is_refused(field, fragment, tmp_path, capsys):
    _record(tmp_path, "good", 40.0)
    _record(tmp_path, "moved", 60.0, **({"scale": "paper"} if field == "scale" else {"version": 2}))
    code, out, err = _leaderboard(tmp_path, capsys)
    assert code == 2 and "corrupt result record" in err and fragment in err and "60" not in out, err


def test_two_records_of_one_trial_that_disagree_are_named(tmp_path, capsys):
    early = _record(tmp_path, "a", 38.0, created="2026-12-01T10:00:00")
    late = _record(tmp_path, "b", 41.0, created="2026-12-02T10:00:00")
    _record(tmp_path, "c", 41.0, created="2026-12-03T10:00:00", seed=1)  # another trial: no note
    code, out, err = _leaderboard(tmp_path, capsys)
    assert code == 0 and "| 2 | 41.0 +- 0.0 |" in out  # the later record of seed 0 (41) beside seed 1 (41)
    notes = [ln for ln in err.splitlines() if "two records of one trial" in ln]
    assert len(notes) == 1 and f"kept {late}" in notes[0] and f"left out {early}" in notes[0], err
    assert "bbox/AP 38.0 vs 41.0" in notes[0] and "the later by `created`" in notes[0]
    # the same numbers twice: one trial, nothing to say
    _record(tmp_path, "d", 41.0, created="2026-12-04T10:00:00", seed=1)
    assert "two records" not in _leaderboard(tmp_path, capsys)[2].replace(notes[0], "")


def test_a_results_root_that_is_no_folder_is_said_so(tmp_path, capsys):
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    for root, fragment in ((loop, "not a readable folder (a symlink loop or a broken link?)"),
                           (tmp_path / "absent", "no such folder")):
        code, _, err = _leaderboard(root, capsys)
        assert code == 2 and f"--results-root {root}: {fragment}" in err and "no results" not in err, err


def test_a_protocol_of_another_task_or_version_is_said_so(tmp_path, capsys):
    _record(tmp_path, "good", 40.0)
    code, _, err = _leaderboard(tmp_path, capsys, "--protocol", "voc_seg/fcn_r50_d8_512_20k@1")
    assert code == 2 and "belongs to task 'voc_seg', not 'coco_det'" in err, err
    code, _, err = _leaderboard(tmp_path, capsys, "--protocol", "r50_fpn_4conv1fc_syncbn_1x@9")
    assert code == 2 and "version '9' is not one of" in err, err
    # an older version is honoured: its records, not the current one's
    code, out, err = _leaderboard(tmp_path, capsys, "--protocol", "r50_fpn_4conv1fc_syncbn_1x@2")
    assert code == 2 and "no results for task 'coco_det' protocol 'r50_fpn_4conv1fc_syncbn_1x@2'" in err
    code, out, _ = _leaderboard(tmp_path, capsys, "--protocol", "r50_fpn_4conv1fc_syncbn_1x@3")
    assert code == 0 and "| 1 | 40.0 | 30.0 |" in out


@pytest.mark.parametrize("body,kind", [(b'{"a": 1}', "a JSON file"), (b"", "an empty file"),
                                       (b"hello weights\n", "a text file"), (b"\x00\x01\xfe\xff" * 8, "an unknown binary file")])
def test_a_file_that_is_not_weights_is_named_for_what_it_is(body, kind, tmp_path, capsys):
    f = tmp_path / "x.pth"
    f.write_bytes(body)
    code = main(["import", "--from", "torchvision", str(f), str(tmp_path / "o.safetensors")])
    err = capsys.readouterr().err
    assert code == 2 and f"{f}: {kind}, not a weights file" in err and "pickle" not in err, err
