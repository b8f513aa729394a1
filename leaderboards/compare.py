"""`bench compare A B`: is A better than B on these columns, and how sure is that? Reads records,
runs nothing.

A side is a method (`pixpro`: its records at the scale, whatever the recipe), a recipe
(`pixpro/mini@v3`: records of that recipe version) or a checkpoint (the first 8+ hex digits of its
weights' hash, as the tables name imported checkpoints). Per column (task, protocol@current
version, metric) each side's trials are its latest record per trial (leaderboards.trials); values of
one downstream seed are averaged on a side, and the seeds both sides have pair up.

Per column: n per side, the mean paired difference A - B with a bootstrap 95% interval (2000
resamples of the pairs, seeded), Welch's two-sided t-test on the two sides' values (unpaired, as
the tables' `~` marks use), Cohen's d (the difference over the pooled standard deviation), and,
when p >= alpha, the seeds per side a two-sided test at alpha would need for 80% power at the
observed d (normal approximation: n = 2 ((z_{1-alpha/2} + z_{0.8}) / d)^2). "Ahead" follows each
metric's direction (the task card's higher_is_better).
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from harness.errors import BenchError
from leaderboards.trials import latest_per_trial

ALPHA, POWER, RESAMPLES = 0.05, 0.8, 2000
_RECIPE = re.compile(r"^(?P<method>[\w-]+)/(?P<recipe>[\w-]+)@v(?P<version>\d+)$")
_HASH = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass(frozen=True)
class ColumnSpec:
    header: str
    task: str
    protocol: str
    version: int
    metric: str
    higher_is_better: bool


@dataclass
class ColumnResult:
    spec: ColumnSpec
    a: list[float]                       # per-seed values (seeds sorted), side A
    b: list[float]
    pairs: int
    diff: float | None                   # mean paired difference A - B
    ci: tuple[float, float] | None
    p: float | None                      # Welch
    d: float | None                      # Cohen's d (A - B over the pooled sd)
    seeds_needed: int | None             # per side, for 80% power at the observed d (p >= alpha only)

    @property
    def ahead(self) -> bool | None:
        """Whether A is ahead of B by the metric's direction (None: no pairs or no difference)."""
        if self.diff is None or self.diff == 0:
            return None
        return (self.diff > 0) == self.spec.higher_is_better


def matches(rec: dict[str, Any], side: str) -> bool:
    """Whether a record belongs to side `side` (a method, a recipe `m/r@vN`, or a weights-hash prefix)."""
    m = _RECIPE.match(side)
    if m:
        p = rec.get("pretrain") or {}
        return (rec["method"] == m["method"] and p.get("recipe") == m["recipe"]
                and str(p.get("recipe_version")) == m["version"])
    if _HASH.match(side):
        return (rec.get("weights_sha256") or rec.get("checkpoint_sha256") or "").startswith(side)
    return rec["method"] == side


def _per_seed(records: Iterable[dict[str, Any]], metric: str) -> dict[int, float]:
    by_seed: dict[int, list[float]] = defaultdict(list)
    for r in records:
        v = r["metrics"].get(metric)
        if v is not None:
            by_seed[int(r["seed"])].append(float(v))
    return {s: float(np.mean(v)) for s, v in by_seed.items()}


def welch(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p of Welch's t-test (the tables' leaderboards.paper_table.welch_p); None with fewer
    than 2 values a side or no variance at all, where a comparison has no test to offer."""
    if len(a) < 2 or len(b) < 2 or (np.var(a) == 0 and np.var(b) == 0):
        return None
    from leaderboards.paper_table import welch_p
    return welch_p(a, b)


def cohens_d(a: Sequence[float], b: Sequence[float]) -> float | None:
    """(mean a - mean b) / pooled sample standard deviation; None if undefined."""
    if len(a) < 2 or len(b) < 2:
        return None
    pooled = ((len(a) - 1) * np.var(a, ddof=1) + (len(b) - 1) * np.var(b, ddof=1)) / (len(a) + len(b) - 2)
    return None if pooled == 0 else float((np.mean(a) - np.mean(b)) / math.sqrt(pooled))


def seeds_needed(d: float | None, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Seeds per side for a two-sided two-sample test at `alpha` to reach `power` at effect size d."""
    if d is None or d == 0:
        return None
    from scipy.stats import norm
    return math.ceil(2 * ((norm.ppf(1 - alpha / 2) + norm.ppf(power)) / abs(d)) ** 2)


def bootstrap_ci(diffs: Sequence[float], seed: int = 0, resamples: int = RESAMPLES) -> tuple[float, float] | None:
    """95% percentile interval of the mean of `diffs` over resamples with replacement (None below 2 pairs)."""
    if len(diffs) < 2:
        return None
    x = np.asarray(diffs, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(x), (resamples, len(x)))
    means = x[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def compare_column(spec: ColumnSpec, a_recs: Sequence[dict[str, Any]], b_recs: Sequence[dict[str, Any]]) -> ColumnResult:
    """One column's comparison from the two sides' records of it."""
    a, b = _per_seed(a_recs, spec.metric), _per_seed(b_recs, spec.metric)
    common = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in common]
    va, vb = [a[s] for s in sorted(a)], [b[s] for s in sorted(b)]
    p, d = welch(va, vb), cohens_d(va, vb)
    return ColumnResult(spec, va, vb, len(common), float(np.mean(diffs)) if diffs else None, bootstrap_ci(diffs), p, d,
                        seeds_needed(d) if (p is None or p >= ALPHA) and diffs else None)


def compare(records: Sequence[dict[str, Any]], a: str, b: str, columns: Sequence[ColumnSpec], scale: str,
            where: str) -> list[ColumnResult]:
    """Every column's comparison of sides a and b among `records` at `scale`. BenchError (one line,
    naming `where`) when a side has no record there, or the sides share no trial in any column."""
    keep = list(latest_per_trial(r for r in records if r["scale"] == scale and not r.get("overrides")))
    out = []
    for c in columns:
        col = [r for r in keep if (r["task"], r["protocol"], r.get("protocol_version")) == (c.task, c.protocol, c.version)]
        out.append(compare_column(c, [r for r in col if matches(r, a)], [r for r in col if matches(r, b)]))
    for side, vals in ((a, [c.a for c in out]), (b, [c.b for c in out])):
        if not any(vals):
            raise BenchError(f"{where}: no {scale} record of '{side}' in these columns (expected a method, a recipe "
                             f"such as pixpro/mini@v3, or a checkpoint's weights hash; see `bench results`)")
    if not any(c.pairs for c in out):
        raise BenchError(f"{where}: '{a}' and '{b}' share no trial (no downstream seed measured for both in one column); "
                         f"run the same seeds for both (`bench sweep ... --seeds`)")
    return out


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


def render(a: str, b: str, results: Sequence[ColumnResult], rerun: str) -> str:
    """The comparison as a markdown table and the one-sentence verdict (and, where too few seeds
    tell, the seeds a test would need and the command that runs them)."""
    lines = [f"| column | n {a} | n {b} | pairs | mean {a} - {b} | 95% interval | Welch p | Cohen's d | ahead |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ci = "-" if r.ci is None else f"[{r.ci[0]:+.2f}, {r.ci[1]:+.2f}]"
        p = "-" if r.p is None else f"{r.p:.3f}"
        ahead = {True: a, False: b, None: "-"}[r.ahead]
        lines.append(f"| {r.spec.header} | {len(r.a)} | {len(r.b)} | {r.pairs} | {_f(r.diff)} | {ci} | {p} | "
                     f"{_f(r.d)} | {ahead} |")
    told = [r for r in results if r.pairs]
    ahead = sum(r.ahead is True for r in told)
    sig = sum(r.ahead is True and r.p is not None and r.p < ALPHA for r in told)
    behind_sig = sum(r.ahead is False and r.p is not None and r.p < ALPHA for r in told)
    verdict = (f"{a} is ahead of {b} on {ahead} of {len(told)} column{'s' * (len(told) != 1)}; "
               f"significant on {sig} at {ALPHA}" + (f" (and behind, significantly, on {behind_sig})" if behind_sig else "") + ".")
    need = [r.seeds_needed for r in told if r.seeds_needed]
    lines += ["", verdict]
    single = [r for r in told if min(len(r.a), len(r.b)) < 2]
    if single:
        lines.append(f"Too few trials for a test on {len(single)} column{'s' * (len(single) != 1)} (one seed on a side; "
                     f"a test needs at least 2 a side, and 3 say little): {rerun.format(last=2)}")
    if need:
        n = max(need)
        lines.append(f"Too few trials to tell on {len(need)} column{'s' * (len(need) != 1)}: at the observed effect sizes "
                     f"a test at {ALPHA} would need up to {n} seeds per side for 80% power: {rerun.format(last=n - 1)}")
    return "\n".join(lines) + "\n"
