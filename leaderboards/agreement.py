"""Rank agreement between two sets of rows of one paper table (issue 42 part 1).

The question a user of `mini` asks is whether it orders methods as the papers do. For each measured
column, over the methods that have a value on both sides:
- Kendall's tau-b (ties counted as ties: scipy.stats.kendalltau, variant 'b') and Spearman's rho
  (average ranks for ties: scipy.stats.spearmanr);
- a 95% percentile interval from resampling the trials: in each of B resamples every measured
  method's trials (pre-training x downstream seed, leaderboards.trials) are drawn with replacement
  and its mean recomputed; a published value, or a method with one trial, stays fixed (its noise is
  unknown, and the interval says nothing about it);
- the table's agreement: the mean tau-b over its `agreement_columns` (every measured column when
  the table names none), with the interval of that mean from the same resamples.
A column needs 3 methods on both sides to claim anything (with 2, tau is +-1 by construction); a
side whose values are all equal has no ranking (tau undefined). A method printed in more than one
row of a column is compared through its `reference: true` row, or left out (said in `notes`).

Verdict: "agrees" when the interval of the mean tau lies above 0, "reversed" when below, otherwise
"inconclusive" (the seeds cannot tell the ranking from noise).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from leaderboards.paper_table import Line
from leaderboards.published import PaperTable

B = 1000                      # bootstrap resamples (seeded: the same records give the same interval)
MIN_METHODS = 3


@dataclass(frozen=True)
class Side:
    """One set of rows: method -> column id -> values (one published value, or one per trial)."""
    name: str                                   # 'published' or 'measured (mini)', ...
    values: dict[str, dict[str, list[float]]]
    fixed: bool                                 # published numbers: nothing to resample


@dataclass
class ColumnAgreement:
    column: str
    methods: tuple[str, ...]                    # with a value on both sides
    tau: float | None
    rho: float | None
    tau_ci: tuple[float, float] | None = None
    rho_ci: tuple[float, float] | None = None
    points: dict[str, tuple[float, float]] = field(default_factory=dict)  # method -> (reference, compared) means


@dataclass
class Agreement:
    reference: str
    compared: str
    columns: list[ColumnAgreement]
    summary_columns: tuple[str, ...]            # the columns the mean is over (those with a tau)
    mean_tau: float | None
    mean_tau_ci: tuple[float, float] | None
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.mean_tau is None:
            return (f"no agreement claimed: no column has {MIN_METHODS} methods ranked on both sides")
        lo, hi = self.mean_tau_ci if self.mean_tau_ci else (self.mean_tau, self.mean_tau)
        word = ("agrees" if lo > 0 else "reversed" if hi < 0 else "inconclusive (the interval spans 0)")
        return (f"{self.compared} against {self.reference}: mean Kendall tau-b {self.mean_tau:+.2f} "
                f"[{lo:+.2f}, {hi:+.2f}] over {len(self.summary_columns)} column(s): {word}")


def _rank_stats(x: Sequence[float], y: Sequence[float]) -> tuple[float | None, float | None]:
    """(tau-b, rho) of paired values; None where undefined (fewer than MIN_METHODS, or a constant side)."""
    from scipy import stats
    if len(x) < MIN_METHODS or len(set(x)) < 2 or len(set(y)) < 2:
        return None, None
    tau = stats.kendalltau(x, y, variant="b").statistic
    rho = stats.spearmanr(x, y).statistic
    return (None if math.isnan(tau) else float(tau)), (None if math.isnan(rho) else float(rho))


def _mean(v: list[float]) -> float:
    return sum(v) / len(v)


def _tau_rho_rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kendall tau-b and Spearman rho of every row pair of x, y [R, n] at once (NaN where a row is
    constant): the resamples' statistics, equal to scipy's (tested), without 2 x R scipy calls per
    column, which made `bench table` take seconds. tau-b = sum sign(dx) sign(dy) over the pairs /
    sqrt(pairs untied in x * pairs untied in y); rho = Pearson's r of the average ranks."""
    from scipy.stats import rankdata
    i, j = np.triu_indices(x.shape[1], 1)
    dx, dy = np.sign(x[:, i] - x[:, j]), np.sign(y[:, i] - y[:, j])
    rx, ry = rankdata(x, axis=1), rankdata(y, axis=1)
    rx, ry = rx - rx.mean(1, keepdims=True), ry - ry.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (dx * dy).sum(1) / np.sqrt((dx != 0).sum(1) * (dy != 0).sum(1))
        rho = (rx * ry).sum(1) / np.sqrt((rx ** 2).sum(1) * (ry ** 2).sum(1))
    return tau, rho


def compare(reference: Side, compared: Side, columns: Sequence[str], summary: Sequence[str] = (),
            resamples: int = B, seed: int = 0) -> Agreement:
    """Agreement of `compared` with `reference` on `columns`; the mean over `summary` (all when empty)."""
    rng = np.random.default_rng(seed)
    per_col: list[ColumnAgreement] = []
    for c in columns:
        ms = tuple(m for m in compared.values if c in compared.values[m] and compared.values[m][c]
                   and m in reference.values and reference.values[m].get(c))
        pts = {m: (_mean(reference.values[m][c]), _mean(compared.values[m][c])) for m in ms}
        tau, rho = _rank_stats([x for x, _ in pts.values()], [y for _, y in pts.values()])
        per_col.append(ColumnAgreement(c, ms, tau, rho, points=pts))
    wanted = [ca for ca in per_col if (not summary or ca.column in summary) and ca.tau is not None]
    mean_tau = _mean([ca.tau for ca in wanted]) if wanted else None

    def draws(side: Side, m: str, c: str) -> np.ndarray:
        """[resamples] means of a method's trials drawn with replacement (fixed: the mean itself)."""
        v = np.asarray(side.values[m][c], dtype=float)
        if side.fixed or len(v) < 2:
            return np.full(resamples, _mean(side.values[m][c]))
        return rng.choice(v, size=(resamples, len(v)), replace=True).mean(1)

    taus: dict[str, np.ndarray] = {}
    rhos: dict[str, np.ndarray] = {}
    for ca in per_col:
        if ca.tau is None:
            continue
        t, r = _tau_rho_rows(np.stack([draws(reference, m, ca.column) for m in ca.methods], 1),
                             np.stack([draws(compared, m, ca.column) for m in ca.methods], 1))
        # a resample in which one side ties everywhere has no ranking: counted as tau 0 (no agreement)
        taus[ca.column], rhos[ca.column] = np.nan_to_num(t, nan=0.0), np.nan_to_num(r, nan=0.0)
    means = np.mean([taus[ca.column] for ca in wanted], 0) if wanted else np.array([])

    def ci(v: np.ndarray) -> tuple[float, float] | None:
        return (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) if len(v) else None
    for ca in per_col:
        if ca.tau is not None:
            ca.tau_ci, ca.rho_ci = ci(taus[ca.column]), ci(rhos[ca.column])
    return Agreement(reference.name, compared.name, per_col, tuple(ca.column for ca in wanted), mean_tau, ci(means))


def published_side(table: PaperTable, lines: Sequence[Line], notes: list[str]) -> Side:
    """The published rows as a Side: per column, a method's only row with a value there, or its
    `reference: true` row; a method printed in several rows of a column without one is left out."""
    out: dict[str, dict[str, list[float]]] = {}
    unresolved: set[str] = set()
    for c in (c for c in table.columns if c.measured):
        by_method: dict[str, list[Line]] = {}
        for ln in lines:
            if ln.kind == "published" and ln.method and ln.cells[c.id].values:
                by_method.setdefault(ln.method, []).append(ln)
        for m, lns in by_method.items():
            pick = lns if len(lns) == 1 else [ln for ln in lns if ln.reference]
            if len(pick) == 1:
                out.setdefault(m, {})[c.id] = list(pick[0].cells[c.id].values)
            elif m not in unresolved:
                unresolved.add(m)
                notes.append(f"{m}: several published rows ({', '.join(ln.label for ln in lns)}) and none marked "
                             "reference: left out")
    return Side("published", out, fixed=True)


def measured_side(lines: Sequence[Line], scale: str, notes: list[str]) -> Side:
    """The measured rows of `scale` as a Side, one per method: its only measured row, or the row of its
    recipe named after the scale (`mini@vN` at mini); a method with several other rows is left out."""
    kind = f"measured ({scale})"
    by_method: dict[str, list[Line]] = {}
    for ln in lines:
        if ln.kind == kind and ln.method:
            by_method.setdefault(ln.method, []).append(ln)
    out: dict[str, dict[str, list[float]]] = {}
    for m, lns in by_method.items():
        pick = lns if len(lns) == 1 else [ln for ln in lns if ln.ident.split("@")[0] == scale]
        if len(pick) == 1:
            out[m] = {cid: list(cell.values) for cid, cell in pick[0].cells.items() if cell.values}
        else:
            notes.append(f"{m}: several measured rows ({', '.join(ln.ident for ln in lns)}), none of recipe "
                         f"'{scale}': left out")
    return Side(kind, out, fixed=False)


def table_agreement(table: PaperTable, lines: Sequence[Line], scale: str,
                    reference_lines: Sequence[Line] | None = None, reference_scale: str | None = None) -> Agreement:
    """The measured rows of `scale` against the published rows, or against the measured rows of
    `reference_scale` in `reference_lines` (e.g. mini against paper)."""
    notes: list[str] = []
    ref = (published_side(table, lines, notes) if reference_lines is None
           else measured_side(reference_lines, reference_scale or "paper", notes))
    got = measured_side(lines, scale, notes)
    cols = [c.id for c in table.columns if c.measured]
    a = compare(ref, got, cols, table.agreement_columns)
    a.notes = notes
    return a


def scatter(a: Agreement, headers: dict[str, str], path: Path, title: str) -> bool:
    """A PNG at `path`: per column with a tau, the reference mean (x) against the compared mean (y),
    one labelled point per method, the column's tau in its title and the mean tau in the figure's.
    False (nothing written) when no column has a tau."""
    cols = [ca for ca in a.columns if ca.tau is not None]
    if not cols:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(cols), figsize=(2.6 * len(cols), 2.8), squeeze=False)
    for ax, ca in zip(axes[0], cols):
        xs, ys = zip(*ca.points.values())
        ax.scatter(xs, ys, s=14, color="#4a7bb7")
        for m, (x, y) in ca.points.items():
            ax.annotate(m, (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
        ax.set_title(f"{headers.get(ca.column, ca.column)}\ntau-b {ca.tau:+.2f}", fontsize=7)
        ax.set_xlabel(a.reference, fontsize=6)
        ax.set_ylabel(a.compared, fontsize=6)
        ax.tick_params(labelsize=6)
        ax.margins(0.2)  # room for the labels
    fig.suptitle(f"{title}: mean tau-b {a.mean_tau:+.2f}" if a.mean_tau is not None else title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def render_md(a: Agreement, headers: dict[str, str]) -> str:
    """The agreement block under a table (markdown)."""
    def iv(x: float | None, ci: tuple[float, float] | None) -> str:
        if x is None:
            return "-"
        return f"{x:+.2f}" + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else "")
    out = [f"Rank agreement, {a.compared} against {a.reference} (Kendall tau-b, Spearman rho; 95% "
           f"interval from {B} resamples of the trials):", "",
           "| column | methods | tau-b | rho |", "|---|---|---|---|"]
    for ca in a.columns:
        out.append(f"| {headers.get(ca.column, ca.column)} | {len(ca.methods)} | {iv(ca.tau, ca.tau_ci)} | "
                   f"{iv(ca.rho, ca.rho_ci)} |")
    out += ["", a.verdict + "."] + [f"- {n}" for n in a.notes]
    return "\n".join(out) + "\n"
