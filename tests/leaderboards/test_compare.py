"""bench compare on worked examples whose answer is known by hand (leaderboards.compare)."""
import math

import pytest

from app.cli import main
from harness.errors import BenchError
from leaderboards.compare import ColumnSpec, bootstrap_ci, cohens_d, compare, render, seeds_needed, welch

COL = ColumnSpec("AP", "coco_det", "r50_fpn_4conv1fc_syncbn_1x", 3, "bbox/AP", True)
ERR = ColumnSpec("error", "coco_det", "r50_fpn_4conv1fc_syncbn_1x", 3, "err", False)


def _rec(method, seed, value, metric="bbox/AP", recipe="mini", version=1, sha="ab" * 32, scale="mini"):
    return {"task": "coco_det", "protocol": "r50_fpn_4conv1fc_syncbn_1x", "protocol_version": 3, "scale": scale,
            "method": method, "seed": seed, "seeds": {"downstream": seed, "pretrain": seed}, "metrics": {metric: value},
            "pretrain": {"recipe": recipe, "recipe_version": version}, "created": f"2026-12-07T0{seed}:00",
            "weights_sha256": sha, "checkpoint_sha256": sha}


def test_statistics_worked_by_hand():
    a, b = [1.0, 2.0, 3.0], [0.0, 1.0, 2.0]
    # Welch: means 2 and 1, variances 1 and 1: t = 1 / sqrt(1/3 + 1/3) = 1.2247 with 4 degrees of freedom -> p 0.2879
    assert welch(a, b) == pytest.approx(0.28786, abs=1e-4)
    assert cohens_d(a, b) == pytest.approx(1.0)                      # difference 1 over pooled sd 1
    # n = 2 ((1.95996 + 0.84162) / 1)^2 = 15.7 -> 16 seeds per side; at d = 2 a quarter: 3.9 -> 4
    assert seeds_needed(1.0) == 16 and seeds_needed(-2.0) == 4 and seeds_needed(0.0) is None
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)               # every resample's mean is 1
    lo, hi = bootstrap_ci([0.0, 2.0])
    assert lo == pytest.approx(0.0) and hi == pytest.approx(2.0)     # resample means of {0, 2}: 0, 1 or 2
    assert welch([1.0], [2.0, 3.0]) is None and cohens_d([1.0], [2.0]) is None


def test_pairs_by_downstream_seed_and_direction():
    recs = ([_rec("pixpro", s, v) for s, v in zip((0, 1, 2), (1.0, 2.0, 3.0))]
            + [_rec("mocov2", s, v) for s, v in zip((1, 2, 3), (0.0, 1.0, 2.0))])
    (r,) = compare(recs, "pixpro", "mocov2", [COL], "mini", "t")
    assert r.pairs == 2 and r.diff == pytest.approx(2.0)               # seeds 1, 2: 2 - 0 and 3 - 1
    assert len(r.a) == 3 and len(r.b) == 3 and r.ahead is True
    err = [_rec("pixpro", s, v, metric="err") for s, v in enumerate((5.0, 6.0))] + \
          [_rec("mocov2", s, v, metric="err") for s, v in enumerate((4.0, 4.5))]
    (e,) = compare(err, "pixpro", "mocov2", [ERR], "mini", "t")
    assert e.diff == pytest.approx(1.25) and e.ahead is False         # higher error: behind


def test_a_clear_difference_is_significant_and_said_in_one_sentence():
    recs = ([_rec("pixpro", s, 30.0 + 0.1 * s) for s in range(4)] + [_rec("mocov2", s, 20.0 - 0.1 * s) for s in range(4)])
    res = compare(recs, "pixpro", "mocov2", [COL], "mini", "t")
    assert res[0].p < 0.001 and res[0].seeds_needed is None
    out = render("pixpro", "mocov2", res, "bench sweep --seeds 0-{last}")
    assert "pixpro is ahead of mocov2 on 1 of 1 column; significant on 1 at 0.05." in out and "Too few" not in out


def test_too_few_seeds_say_how_many_and_the_command():
    recs = [_rec("pixpro", s, v) for s, v in enumerate((1.0, 2.0, 3.0))] + [_rec("mocov2", s, v) for s, v in enumerate((0.0, 1.0, 2.0))]
    out = render("pixpro", "mocov2", compare(recs, "pixpro", "mocov2", [COL], "mini", "t"), "bench sweep --seeds 0-{last}")
    assert "significant on 0 at 0.05" in out and "would need up to 16 seeds per side" in out
    assert "bench sweep --seeds 0-15" in out


def test_recipe_and_checkpoint_sides():
    recs = ([_rec("pixpro", s, 2.0 + s, version=3) for s in range(2)] + [_rec("pixpro", s, 9.0, version=2) for s in range(2)]
            + [_rec("import", s, 1.0 + s, sha="c0ffee00" + "0" * 56) for s in range(2)])
    (r,) = compare(recs, "pixpro/mini@v3", "c0ffee00", [COL], "mini", "t")
    assert r.a == [2.0, 3.0] and r.b == [1.0, 2.0] and r.diff == pytest.approx(1.0)


def test_no_common_trial_or_no_record_is_one_line():
    recs = [_rec("pixpro", 0, 1.0), _rec("mocov2", 1, 2.0)]
    with pytest.raises(BenchError, match="'pixpro' and 'mocov2' share no trial"):
        compare(recs, "pixpro", "mocov2", [COL], "mini", "--table x")
    with pytest.raises(BenchError, match="--table x: no mini record of 'byol'"):
        compare(recs, "byol", "mocov2", [COL], "mini", "--table x")
    with pytest.raises(BenchError, match="no paper record of 'pixpro'"):
        compare(recs, "pixpro", "mocov2", [COL], "paper", "--table x")


@pytest.mark.parametrize("argv,fragment", [
    (["compare", "a", "a", "--task", "voc_seg"], "A and B are both 'a'"),
    (["compare", "a", "b", "--table", "nope"], "--table 'nope': unknown paper table"),
    (["compare", "a", "b", "--task", "voc_sge"], "unknown task 'voc_sge'"),
    (["compare", "a", "b", "--table", "pixpro_t1", "--protocol", "x"], "--protocol: only with --task"),
    (["compare", "mocov2", "random", "--task", "voc07_svm"], "no mini record of 'mocov2'"),
])
def test_cli_errors_are_one_line(argv, fragment, tmp_path, capsys):
    _one_line_error(argv, fragment, tmp_path, capsys)


def test_a_table_without_measured_columns_is_refused(tmp_path_factory, capsys):
    # every seed table now has a measured column: an own table file with published values only
    table = tmp_path_factory.mktemp("tables") / "published_only.yaml"
    table.write_text("id: published_only\ncolumns:\n  - {id: x, header: X, measured: false, why: elsewhere}\n")
    _one_line_error(["compare", "a", "b", "--table", str(table)], "no column DenseBench measures",
                    tmp_path_factory.mktemp("results"), capsys)


def _one_line_error(argv, fragment, tmp_path, capsys):
    assert main(argv + ["--results-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and not list(tmp_path.iterdir())
