"""A paper's table with DenseBench's measured rows beside the published ones (`bench table`).

Layout: the paper table's columns as published; its published rows, as printed; then one measured row
per (method, pre-training) that the results store holds for the table's measured columns at the
chosen scale, labelled `method / recipe@vN` (another recipe version is another row: its numbers
are another pre-training's), pooled over every trial (pre-training and downstream seed; a rerun
trial counts once, its latest record), as mean +- std (n). '-' where nothing
is measured (or the paper printed '-'). Published values are paper-scale numbers: at `mini` they are
shown for reference and labelled so, and the best-value marks consider the measured rows only.

Best per column: bold, by the metric's direction (the task card). Within the seed noise: a measured
row whose column differs from the best measured row by less than the noise is marked '~': Welch's
two-sided t-test over the seeds at level 0.05 (p >= 0.05 -> indistinguishable); with fewer than 2
seeds on either side nothing is claimed.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from leaderboards.published import PaperTable
from leaderboards.trials import identity, latest_per_trial, pretrain_seed

ALPHA = 0.05


@dataclass
class Cell:
    values: list[float]           # one per seed (measured) or the single published value
    published: bool
    mark: str = ""                # "best" or "~" (within the seed noise of the best)

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        n = len(self.values)
        if n < 2:
            return None
        m = self.mean
        return math.sqrt(sum((v - m) ** 2 for v in self.values) / (n - 1))

    def text(self) -> str:
        if not self.values:
            return "-"
        if self.published:
            return f"{self.values[0]:.1f}"
        s = f"{self.mean:.1f}" + (f" +- {self.std:.1f}" if self.std is not None else "") + f" (n={len(self.values)})"
        return s


@dataclass
class Line:
    label: str
    kind: str                     # "published" or "measured (<scale>)"
    cells: dict[str, Cell]
    method: str | None = None     # DenseBench's method name (None: a published row it has no method for)
    ident: str = ""               # measured: the pre-training (recipe@vN, or an imported weights' hash)
    reference: bool = False       # published: the row agreement compares the method with (published.Row)
    records: list[dict[str, Any]] = field(default_factory=list)  # measured: the records its cells pool

    @property
    def origin(self) -> str:
        """Where a measured row's records come from: 'yours', 'shipped' or 'shipped + yours'."""
        from leaderboards.shipped import origin
        return origin(self.records)

    @property
    def kind_text(self) -> str:
        """The kind as printed: a measured row made of shipped records says so."""
        return self.kind if self.origin == "yours" else f"{self.kind[:-1]}, {self.origin})"


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p of Welch's t-test (None with fewer than 2 values on a side, or no variance at all)."""
    if len(a) < 2 or len(b) < 2:
        return None
    from scipy import stats
    if max(a) == min(a) and max(b) == min(b):
        return 1.0 if a[0] == b[0] else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def _metric_value(rec: dict[str, Any], metric: str) -> float | None:
    v = rec["metrics"].get(metric)
    return None if v is None else float(v)


def current_recipe_versions(table: PaperTable) -> dict[tuple[str, str], int]:
    """The registered version of every recipe of the table's methods: (method, recipe) -> version."""
    from harness.registry import METHODS
    out = {}
    for m in dict.fromkeys(r.method for r in table.rows if r.method):
        if m in METHODS.names():
            out.update({(m, name): rec.version for name, rec in METHODS.card(m).recipes.items()})
    return out


def _superseded(r: dict[str, Any], recipe_versions: dict[tuple[str, str], int]) -> bool:
    """A record of DenseBench's own pre-training whose recipe is registered at another version."""
    if pretrain_seed(r) < 0:
        return False
    p = r["pretrain"]
    return recipe_versions.get((r["method"], p["recipe"]), p.get("recipe_version")) != p.get("recipe_version")


def lines_for(table: PaperTable, records: Sequence[dict[str, Any]], scale: str, all_versions: bool = False,
              superseded: list[str] | None = None) -> list[Line]:
    """build() with what the registries say: each column's metric direction, each protocol's and
    (unless all_versions) each recipe's current version."""
    from harness.registry import TASKS
    measured = [c for c in table.columns if c.measured]
    hib = {(c.task, c.metric): TASKS.card(c.task).direction().get(c.metric, True) for c in measured}
    versions = {(c.task, c.protocol): TASKS.protocol(c.task, c.protocol).version for c in measured}
    return build(table, records, scale, hib, versions, None if all_versions else current_recipe_versions(table),
                 superseded)


def build(table: PaperTable, records: Sequence[dict[str, Any]], scale: str,
          higher_is_better: dict[tuple[str, str], bool], versions: dict[tuple[str, str], int] | None = None,
          recipe_versions: dict[tuple[str, str], int] | None = None, superseded: list[str] | None = None) -> list[Line]:
    """Published lines, then measured lines, one per (method, pre-training): `recipe@vN` for
    DenseBench's pre-trainings (its seeds pool; another recipe version is another line), the weights'
    hash for an imported checkpoint. Each trial counts once (its latest record: leaderboards.trials).
    higher_is_better is keyed by (task, metric); a metric it lacks counts as higher-is-better.
    versions: the current version of each (task, protocol): records of another version are another
    protocol and are left out.
    recipe_versions: the current version of each (method, recipe); a line of another version of a
    recipe (`mini@v1` where mini is at version 2: superseded) is left out, its label appended to
    `superseded` when a list is given. None keeps every version."""
    versions = versions or {}
    lines = [Line(r.label, "published", {c.id: Cell([] if r.values.get(c.id) is None else [float(r.values[c.id])], True)
                                          for c in table.columns}, r.method, reference=r.reference) for r in table.rows]
    methods = [m for m in dict.fromkeys(r.method for r in table.rows) if m]
    cols = [c for c in table.columns if c.measured]
    wanted = {(c.task, c.protocol) for c in cols}
    # every method measured on the table's columns has a line: the rows' methods first, then others
    # (a user's own method or checkpoint: `bench sweep --table ID --method M`), by name
    recs = [r for r in records if r["scale"] == scale and (r["task"], r["protocol"]) in wanted
            and versions.get((r["task"], r["protocol"]), r["protocol_version"]) == r["protocol_version"]
            and not r.get("overrides")]  # '+custom' runs are not the protocol
    if recipe_versions is not None:
        old = [r for r in recs if _superseded(r, recipe_versions)]
        if superseded is not None:
            superseded.extend(sorted({f"{r['method']} / {identity(r)}" for r in old}))
        recs = [r for r in recs if not _superseded(r, recipe_versions)]
    groups: dict[tuple[str, str], dict[str, list[float]]] = {}
    used: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}  # each group's records, once each
    for rec in latest_per_trial(recs):
        for c in cols:
            v = _metric_value(rec, c.metric) if (rec["task"], rec["protocol"]) == (c.task, c.protocol) else None
            if v is not None:
                groups.setdefault((rec["method"], identity(rec)), {}).setdefault(c.id, []).append(v)
                used.setdefault((rec["method"], identity(rec)), {})[id(rec)] = rec
    order = {m: i for i, m in enumerate(methods)}
    for (method, ident), vals in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0])):
        lines.append(Line(f"{method} / {ident}", f"measured ({scale})",
                          {c.id: Cell(vals.get(c.id, []), False) for c in table.columns}, method, ident,
                          records=list(used[(method, ident)].values())))
    _mark(table, lines, scale, higher_is_better)
    return lines


def _mark(table: PaperTable, lines: list[Line], scale: str, hib: dict[tuple[str, str], bool]) -> None:
    for c in table.columns:
        up = hib.get((c.task, c.metric), True)
        pool = [ln for ln in lines if ln.cells[c.id].values and (scale == "paper" or not ln.cells[c.id].published)]
        if len(pool) < 2:
            continue
        best = (max if up else min)(pool, key=lambda ln: ln.cells[c.id].mean)
        best.cells[c.id].mark = "best"
        for ln in pool:
            if ln is best or ln.cells[c.id].published or best.cells[c.id].published:
                continue
            p = welch_p(ln.cells[c.id].values, best.cells[c.id].values)
            if p is not None and p >= ALPHA:
                ln.cells[c.id].mark = "~"


def render(table: PaperTable, lines: list[Line], scale: str, fmt: str) -> str:
    """md | csv | latex | html."""
    head = ["row", "kind"] + [c.header for c in table.columns]
    title = (f"{table.id}: {table.paper}, {table.table} ({scale})"
             + ("; published values are paper-scale numbers, shown for reference" if scale != "paper" else ""))

    def cell(c: Cell, bold: Any, near: Any) -> str:
        t = c.text()
        return bold(t) if c.mark == "best" else near(t) if c.mark == "~" else t
    if fmt == "csv":
        import csv
        import io
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(head + [f"{c.header} mark" for c in table.columns])
        for ln in lines:
            w.writerow([ln.label, ln.kind_text] + [ln.cells[c.id].text() for c in table.columns]
                       + [ln.cells[c.id].mark for c in table.columns])
        return buf.getvalue()
    if fmt == "latex":
        esc = (lambda s: s.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&").replace("+-", r"$\pm$"))
        out = [f"% {esc(title)}", r"\begin{tabular}{ll" + "r" * len(table.columns) + "}", r"\toprule",
               " & ".join(esc(h) for h in head) + r" \\", r"\midrule"]
        for ln in lines:
            out.append(" & ".join([esc(ln.label), esc(ln.kind_text)] + [cell(ln.cells[c.id], lambda t: r"\textbf{" + esc(t) + "}",
                                                                       lambda t: esc(t) + r"$^{\sim}$") for c in table.columns])
                       + r" \\")
        return "\n".join(out + [r"\bottomrule", r"\end{tabular}"]) + "\n"
    if fmt == "html":
        e = html.escape
        rows = "".join("<tr>" + "".join(f"<td>{x}</td>" for x in [e(ln.label), e(ln.kind_text)] + [
            cell(ln.cells[c.id], lambda t: f"<b>{e(t)}</b>", lambda t: f"{e(t)} ~") for c in table.columns]) + "</tr>"
            for ln in lines)
        return (f"<table class='paper-table'><caption>{e(title)}</caption><thead><tr>"
                + "".join(f"<th>{e(h)}</th>" for h in head) + f"</tr></thead><tbody>{rows}</tbody></table>\n")
    out = [title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ln in lines:
        out.append("| " + " | ".join([ln.label, ln.kind_text] + [cell(ln.cells[c.id], lambda t: f"**{t}**", lambda t: f"{t} ~")
                                                            for c in table.columns]) + " |")
    out += ["", "**bold**: best per column (by the metric's direction); ~: within the seed noise of the best "
                f"measured row (Welch's t-test, p >= {ALPHA}); n: seeds pooled (pre-training and downstream)."]
    if any("shipped" in ln.origin for ln in lines):
        out += ["", "shipped: DenseBench's own records, in the repository's read-only store (leaderboards/measured/), "
                    "read beside yours; your record of a trial replaces the shipped one (`--no-shipped` leaves them out)."]
    return "\n".join(out) + "\n"
