"""Rank agreement (leaderboards/agreement.py) on worked examples whose answers are computed by hand:
tau-b = (C - D) / sqrt((n0 - n1)(n0 - n2)) over the n0 = n(n-1)/2 pairs (C concordant, D discordant,
n1 / n2 pairs tied on the reference / compared side); rho = Pearson's r of the average ranks."""
import math

import pytest

from leaderboards.agreement import Side, compare, published_side, measured_side, table_agreement
from leaderboards.paper_table import build
from leaderboards.published import Column, PaperTable, Row


def pub(**v):
    return Side("published", {m: {"c": [x]} for m, x in v.items()}, fixed=True)


def meas(**v):
    return Side("measured (mini)", {m: {"c": list(x)} for m, x in v.items()}, fixed=False)


def test_the_same_order_is_tau_one_and_the_reversed_minus_one():
    a = compare(pub(a=1, b=2, c=3), meas(a=[10], b=[20], c=[30]), ["c"])
    assert a.columns[0].tau == pytest.approx(1) and a.columns[0].rho == pytest.approx(1)
    a = compare(pub(a=1, b=2, c=3, d=4), meas(a=[4], b=[3], c=[2], d=[1]), ["c"])
    assert a.columns[0].tau == pytest.approx(-1) and a.columns[0].rho == pytest.approx(-1)
    assert "reversed" in a.verdict


def test_ties_count_as_ties():
    # reference a = b < c, compared a < b < c: pairs ab tied on the reference (n1 = 1), ac and bc
    # concordant: tau-b = 2 / sqrt((3 - 1) * 3) = 0.8165; ranks (1.5, 1.5, 3) and (1, 2, 3): rho = 1.5 / sqrt(1.5 * 2)
    a = compare(pub(a=1, b=1, c=2), meas(a=[1], b=[2], c=[3]), ["c"])
    assert a.columns[0].tau == pytest.approx(2 / math.sqrt(6))
    assert a.columns[0].rho == pytest.approx(1.5 / math.sqrt(3))


def test_one_discordant_pair_of_four():
    # reference a < b < c < d, compared b < a < c < d: 5 concordant, 1 discordant of 6: tau = 4/6;
    # rho = 1 - 6 * (1 + 1) / (4 * 15) = 0.8
    a = compare(pub(a=1, b=2, c=3, d=4), meas(a=[2], b=[1], c=[3], d=[4]), ["c"])
    assert a.columns[0].tau == pytest.approx(4 / 6) and a.columns[0].rho == pytest.approx(0.8)


def test_missing_cells_leave_the_method_out_of_that_column():
    ref = Side("published", {"a": {"c": [1]}, "b": {"c": [2]}, "c": {"c": [3]}, "e": {}}, fixed=True)
    got = meas(a=[1], b=[2], c=[3], d=[0], e=[9])  # d not published, e published without this column
    a = compare(ref, got, ["c"])
    assert a.columns[0].methods == ("a", "b", "c") and a.columns[0].tau == pytest.approx(1)


def test_fewer_than_three_methods_or_a_constant_side_claim_nothing():
    a = compare(pub(a=1, b=2), meas(a=[1], b=[2]), ["c"])
    assert a.columns[0].tau is None and a.mean_tau is None and a.verdict.startswith("no agreement claimed")
    a = compare(pub(a=1, b=2, c=3), meas(a=[5], b=[5], c=[5]), ["c"])
    assert a.columns[0].tau is None


def test_the_interval_resamples_trials_and_keeps_a_one_seed_method_fixed():
    # reference a < b < c. Compared: a one trial (5, fixed), c one trial (10), b trials (4, 6): a
    # resample's mean of b is 4, 5 or 6 with probabilities 1/4, 1/2, 1/4, giving tau 1/3 (b < a < c),
    # 2/sqrt(6) (a = b) or 1: the 2.5th percentile is 1/3 and the 97.5th 1; the point value is at b = 5.
    a = compare(pub(a=1, b=2, c=3), meas(a=[5], b=[4, 6], c=[10]), ["c"])
    ca = a.columns[0]
    assert ca.tau == pytest.approx(2 / math.sqrt(6))
    assert ca.tau_ci == pytest.approx((1 / 3, 1.0))
    assert a.mean_tau_ci == pytest.approx((1 / 3, 1.0)) and "agrees" in a.verdict
    # with every trial equal nothing moves
    a = compare(pub(a=1, b=2, c=3), meas(a=[1, 1], b=[2, 2, 2], c=[3]), ["c"])
    assert a.columns[0].tau_ci == pytest.approx((1.0, 1.0))


def test_an_interval_spanning_zero_is_inconclusive():
    # the means 5 < 5.5 < 5.75 follow the reference (tau 1), but a resample draws a's mean 10 with
    # probability 1/4, and then a is above b and c (tau <= -1/3): the 2.5th percentile is below 0
    a = compare(pub(a=1, b=2, c=3), meas(a=[0, 10], b=[4, 7], c=[3, 8.5]), ["c"])
    assert a.columns[0].tau == pytest.approx(1)
    assert a.columns[0].tau_ci[0] < 0 < a.columns[0].tau_ci[1] and "inconclusive" in a.verdict


def test_the_mean_is_over_the_summary_columns():
    ref = Side("published", {m: {"x": [i], "y": [i]} for i, m in enumerate("abc")}, fixed=True)
    got = Side("measured (mini)", {m: {"x": [i], "y": [-i]} for i, m in enumerate("abc")}, fixed=False)
    assert compare(ref, got, ["x", "y"]).mean_tau == pytest.approx(0)
    assert compare(ref, got, ["x", "y"], ["x"]).mean_tau == pytest.approx(1)


def _table(rows, agreement=()):
    cols = (Column("c", "C", "coco_det", "p", "bbox/AP"), Column("u", "U", measured=False, why="n/a"))
    return PaperTable("t", "paper", "seed.txt", "Table 1", "", cols, tuple(rows), agreement_columns=agreement)


def _rec(method, seed, v, recipe="mini"):
    return {"scale": "mini", "task": "coco_det", "protocol": "p", "protocol_version": 1, "method": method,
            "seed": seed, "metrics": {"bbox/AP": v}, "checkpoint_sha256": f"{method}{recipe}{seed}",
            "created": f"2026-12-07T00:00:0{seed}", "seeds": {"pretrain": 0, "downstream": seed},
            "pretrain": {"recipe": recipe, "recipe_version": 1}}


def test_sides_from_a_table_use_the_reference_row_and_the_scales_recipe():
    rows = [Row("R", "random", "none", None, {"c": 1.0}), Row("M", "mocov2", "coco", 800, {"c": 2.0}),
            Row("P100", "pixpro", "in", 100, {"c": 2.5}), Row("P400", "pixpro", "in", 400, {"c": 3.0}, reference=True,
                                                               reference_why="headline"),
            Row("S1", "slotcon", "coco", 800, {"c": 4.0}), Row("S2", "slotcon", "coco", 200, {"c": 3.5})]
    t = _table(rows)
    recs = [_rec("random", s, 10 + s) for s in range(2)] + [_rec("mocov2", s, 20 + s) for s in range(2)] + \
           [_rec("pixpro", 0, 30), _rec("pixpro", 0, 5, recipe="demo"), _rec("slotcon", 0, 40)]
    lines = build(t, recs, "mini", {("coco_det", "bbox/AP"): True}, {("coco_det", "p"): 1})
    notes = []
    ref = published_side(t, lines, notes)
    assert ref.values["pixpro"]["c"] == [3.0] and "slotcon" not in ref.values
    assert notes == ["slotcon: several published rows (S1, S2) and none marked reference: left out"]
    got = measured_side(lines, "mini", notes)
    assert got.values["pixpro"]["c"] == [30.0] and sorted(got.values["random"]["c"]) == [10.0, 11.0]
    a = table_agreement(t, lines, "mini")
    assert a.columns[0].methods == ("random", "mocov2", "pixpro") and a.columns[0].tau == pytest.approx(1)
    assert a.summary_columns == ("c",)


def test_bench_table_prints_the_agreement_against_published_and_against_paper_rows(tmp_path, capsys, monkeypatch):
    """slotcon_t2 box AP, published random 32.8 < MoCo v2 38.5 < DenseCL 39.6; measured at mini
    random < DenseCL < MoCo v2 (one discordant pair of 3: tau 1/3); at paper scale the measured
    order is the mini order (tau 1 between the scales)."""
    from app.cli import main
    from harness import store
    from harness.registry import METHODS, TASKS
    proto = TASKS.protocol("coco_det", "r50_fpn_4conv1fc_syncbn_1x").version

    def rec(method, v, seed, scale):
        rv = METHODS.card(method).recipe(scale).version
        return {"task": "coco_det", "protocol": "r50_fpn_4conv1fc_syncbn_1x", "protocol_version": proto,
                "scale": scale, "method": method, "seed": seed, "seeds": {"downstream": seed, "pretrain": 0},
                "metrics": {"bbox/AP": v + seed}, "pretrain": {"recipe": scale, "recipe_version": rv},
                "created": "2026-12-07"}
    recs = [rec(m, v, s, sc) for sc, k in (("mini", 1), ("paper", 2)) for m, v in
            (("random", 20 * k), ("densecl", 22 * k), ("mocov2", 24 * k)) for s in (0, 1)]
    monkeypatch.setattr(store, "iter_records", lambda root=None, *a, **k: recs)
    assert main(["table", "slotcon_t2", "--results-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Rank agreement, measured (mini) against published" in out
    assert "| COCO detection AP^b | 3 | +0.33 [+0.33, +0.33] |" in out
    assert "measured (mini) against published: mean Kendall tau-b +0.33 [+0.33, +0.33] over 1 column(s): agrees." in out
    assert "measured (mini) against measured (paper): mean Kendall tau-b +1.00" in out


def test_the_resamples_statistics_equal_scipys():
    """The bootstrap computes tau-b and rho for all resamples at once; each row equals scipy's."""
    import numpy as np
    from scipy import stats

    from leaderboards.agreement import _tau_rho_rows
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 4, (50, 6)).astype(float), rng.integers(0, 4, (50, 6)).astype(float)  # many ties
    tau, rho = _tau_rho_rows(x, y)
    for k in range(50):
        want_t, want_r = stats.kendalltau(x[k], y[k], variant="b").statistic, stats.spearmanr(x[k], y[k]).statistic
        assert (np.isnan(tau[k]) and np.isnan(want_t)) or tau[k] == pytest.approx(want_t)
        assert (np.isnan(rho[k]) and np.isnan(want_r)) or rho[k] == pytest.approx(want_r)
