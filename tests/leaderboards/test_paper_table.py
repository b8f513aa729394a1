"""bench table: a paper table's published rows with measured rows beside them, marked by direction
and seed noise."""
import pytest

from app.cli import main
from leaderboards.paper_table import build, render, welch_p
from leaderboards.published import all_tables


def test_welch_worked_example():
    # a = 1, 2, 3; b = 4, 5, 6: t = (2 - 5) / sqrt(1/3 + 1/3) = -3.674, Welch df = 4, two-sided p = 0.0213
    assert welch_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.02131, abs=1e-4)
    assert welch_p([1.0], [2.0, 3.0]) is None and welch_p([2, 2], [2, 2]) == 1.0


def _rec(method, recipe, value, seed, scale="mini", metric="bbox/AP", version=2, recipe_version=1, created="2026-12-01"):
    return {"task": "coco_det", "protocol": "r50_fpn_4conv1fc_syncbn_1x", "protocol_version": version, "scale": scale,
            "method": method, "seed": seed, "seeds": {"downstream": seed, "pretrain": seed}, "metrics": {metric: value},
            "pretrain": {"recipe": recipe, "recipe_version": recipe_version}, "created": created}


def test_measured_rows_pooled_marked_and_published_kept_apart_at_mini():
    t = all_tables()["pixpro_t1"]
    recs = ([_rec("pixpro", "mini", v, s) for s, v in enumerate([25.0, 26.0, 27.0])]
            + [_rec("random", "mini", v, s) for s, v in enumerate([24.0, 26.5, 25.5])]      # overlaps pixpro
            + [_rec("mocov2", "mini", v, s) for s, v in enumerate([20.0, 20.5, 19.5])]      # clearly below
            + [_rec("pixpro", "paper", 41.0, 0, scale="paper")]                           # another scale: not shown
            + [_rec("random", "mini", 99.0, 7, version=1)])                               # another version: not shown
    lines = build(t, recs, "mini", {}, {("coco_det", "r50_fpn_4conv1fc_syncbn_1x"): 2})
    measured = {ln.label: ln for ln in lines if ln.kind.startswith("measured")}
    assert set(measured) == {"pixpro / mini@v1", "random / mini@v1", "mocov2 / mini@v1"}
    cell = measured["pixpro / mini@v1"].cells["coco_fpn_ap"]
    assert cell.text() == "26.0 +- 1.0 (n=3)" and cell.mark == "best"
    assert measured["random / mini@v1"].cells["coco_fpn_ap"].mark == "~"       # Welch p >= 0.05
    assert measured["mocov2 / mini@v1"].cells["coco_fpn_ap"].mark == ""        # p < 0.05
    assert all(ln.cells["coco_fpn_ap"].mark == "" for ln in lines if ln.kind == "published")  # paper scale: apart
    assert measured["pixpro / mini@v1"].cells["voc_ap"].text() == "-"          # not measured by DenseBench
    md = render(t, lines, "mini", "md")
    assert "published values are paper-scale numbers" in md and "**26.0 +- 1.0 (n=3)**" in md and "25.3 +- 1.3 (n=3) ~" in md
    assert "| PixPro (ours) 100 | published | 58.8 |" in md
    for fmt in ("csv", "latex", "html"):
        out = render(t, lines, "mini", fmt)
        assert "PixPro (ours) 400" in out and "26.0" in out


def test_lower_is_better_metric_marks_the_lowest():
    t = all_tables()["pixpro_t1"]
    recs = [_rec("pixpro", "mini", v, s) for s, v in enumerate([10.0, 10.1])] + \
           [_rec("random", "mini", v, s) for s, v in enumerate([30.0, 30.2])]
    lines = build(t, recs, "mini", {("coco_det", "bbox/AP"): False})
    best = [ln.label for ln in lines if ln.cells["coco_fpn_ap"].mark == "best"]
    assert best == ["pixpro / mini@v1"]


def test_recipe_versions_are_rows_of_their_own_and_a_rerun_trial_counts_once():
    """Records of two versions of one recipe are two pre-trainings: never pooled into one cell. A
    trial recorded twice (the same seeds, run again) counts once, with its latest record."""
    t = all_tables()["pixpro_t1"]
    recs = ([_rec("mocov2", "mini", v, s, recipe_version=2) for s, v in enumerate([20.0, 21.0, 22.0])]
            + [_rec("mocov2", "mini", v, s, recipe_version=3) for s, v in enumerate([30.0, 31.0])]
            + [_rec("mocov2", "mini", 35.0, 1, recipe_version=3, created="2026-12-02")])  # trial 1 run again
    lines = build(t, recs, "mini", {})
    cells = {ln.label: ln.cells["coco_fpn_ap"] for ln in lines if ln.kind.startswith("measured")}
    assert cells["mocov2 / mini@v2"].text() == "21.0 +- 1.0 (n=3)"
    assert cells["mocov2 / mini@v3"].values == [30.0, 35.0]


def test_an_earlier_version_of_a_recipe_is_left_out_and_named(tmp_path, capsys, monkeypatch):
    """Given the current recipe versions, a row of another version (superseded) is left out and
    reported; another recipe of the method, or the current version, stays. `bench table` says so on
    stderr and --all-versions shows it."""
    t = all_tables()["pixpro_t1"]
    recs = ([_rec("mocov2", "mini", 20.0, 0, recipe_version=1), _rec("mocov2", "mini", 30.0, 0, recipe_version=2),
             _rec("mocov2", "long", 40.0, 0, recipe_version=1)])
    left: list[str] = []
    lines = build(t, recs, "mini", {}, None, {("mocov2", "mini"): 2, ("mocov2", "long"): 1}, left)
    assert [ln.label for ln in lines if ln.kind.startswith("measured")] == ["mocov2 / long@v1", "mocov2 / mini@v2"]
    assert left == ["mocov2 / mini@v1"]
    assert len([ln for ln in build(t, recs, "mini", {}) if ln.kind.startswith("measured")]) == 3  # None: every version
    from harness import store
    from harness.registry import METHODS
    from harness.registry import TASKS
    cur = METHODS.card("mocov2").recipe("mini").version
    proto = TASKS.protocol("coco_det", "r50_fpn_4conv1fc_syncbn_1x").version  # records of the current protocol
    # a version the registry does not have is not the current one either
    monkeypatch.setattr(store, "iter_records", lambda root=None, *a, **k: [_rec("mocov2", "mini", 25.0 + i, 0, version=proto,
                                                                       recipe_version=rv)
                                                                   for i, rv in enumerate((cur, cur + 1))])
    assert main(["table", "pixpro_t1", "--results-root", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert f"mocov2 / mini@v{cur} " in out and f"mini@v{cur + 1} " not in out
    assert f"left out, not the current version of their recipe: mocov2 / mini@v{cur + 1} (--all-versions" in err
    assert main(["table", "pixpro_t1", "--all-versions", "--results-root", str(tmp_path)]) == 0
    assert f"mocov2 / mini@v{cur + 1} " in capsys.readouterr().out


def test_cli_table_ls_and_render(tmp_path, capsys):
    assert main(["table", "ls"]) == 0
    out = capsys.readouterr().out
    assert "slotcon_t2" in out and "zhang_maire_t3" in out
    assert main(["table", "zhang_maire_t3", "--results-root", str(tmp_path)]) == 0
    assert "| Ours (cns=5) | published | 47.1 | 48.9 |" in capsys.readouterr().out
    assert main(["table", "pixpro_t9"]) == 2
    assert "unknown paper table 'pixpro_t9'; did you mean" in capsys.readouterr().err
