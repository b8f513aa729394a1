"""`bench sweep --table ID --verify [N]`: re-run N of the trials DenseBench ships for a paper table
(leaderboards/measured/) on this machine, into your own store, and say trial by trial whether each
lands within its bounds.

Which trials: first those the protocol's `expected` bounds cover (MoCo v2 and random init at seed 0,
harness.protocol.Expected), then a draw (seeded by the table and scale, so the same N every time)
from the others. The bounds of a trial: the protocol's expected bounds where they cover it; else the
shipped row's range over its trials widened by MARGIN, the rule the expected bounds follow (the same
code and seed on another CPU or thread count moves as another seed would, up to 2.8 points measured:
docs/measured-mini-bounds.md).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.sweep import Trial
from harness.errors import BenchError

MARGIN = 3.0  # points either side of the shipped row's range (the expected bounds' widening)


@dataclass(frozen=True)
class Check:
    trial: Trial
    column: str                 # the paper table column's header
    metric: str
    shipped: float
    bounds: tuple[float, float]
    why: str                    # where the bounds come from
    wall_s: float               # the shipped record's evaluation wall time


def checks(table: Any, scale: str, shipped: list[dict[str, Any]]) -> list[list[Check]]:
    """Per shipped trial of the table (current versions), its checks: the protocol's headline metric
    against its expected bounds where they cover the trial, and each measured column the trial fills
    against the shipped row's range +- MARGIN; trials with expected bounds first, then the others in
    a seeded order."""
    from harness.registry import TASKS
    from leaderboards.paper_table import lines_for
    lines = [ln for ln in lines_for(table, shipped, scale) if ln.records]
    out: dict[Trial, list[Check]] = {}
    for ln in lines:
        for r in ln.records:
            if (r.get("seeds") or {}).get("pretrain") != r["seed"] or not (r.get("pretrain") or {}).get("recipe"):
                continue  # not a sweep trial (pre-training seed = downstream seed, DenseBench's recipe)
            t = Trial(r["method"], r["pretrain"]["recipe"], r["task"], r["protocol"], r["seed"])
            exp = TASKS.protocol(r["task"], r["protocol"]).expected() if scale == "mini" else None
            cs = out.setdefault(t, [])
            wall = float(r.get("wall_s") or 0)
            headline = None
            if exp is not None and r["seed"] == 0 and r["method"] in ("mocov2", "random") and \
                    r["metrics"].get(exp.metric) is not None:  # the protocol's headline metric, a column or not
                headline = exp.metric
                lo, hi = getattr(exp, r["method"])
                cs.append(Check(t, exp.metric, exp.metric, float(r["metrics"][exp.metric]), (lo, hi),
                                f"expected bounds of {r['task']}/{r['protocol']} ({r['method']}, seed 0)", wall))
            for c in (c for c in table.columns if c.measured and (c.task, c.protocol) == (r["task"], r["protocol"])):
                v = r["metrics"].get(c.metric)
                if v is None or c.metric == headline:
                    continue
                row = ln.cells[c.id].values
                cs.append(Check(t, c.header, c.metric, float(v), (min(row) - MARGIN, max(row) + MARGIN),
                                f"the shipped row's range over {len(row)} trials +- {MARGIN:g}", wall))
    bounded = [t for t, cs in out.items() if any(c.why.startswith("expected") for c in cs)]
    rest = sorted((t for t in out if t not in bounded), key=str)
    random.Random(f"{table.id}-{scale}").shuffle(rest)
    return [out[t] for t in sorted(bounded, key=str) + rest]


def plan_verify(table: Any, scale: str, n: int) -> tuple[list[list[Check]], list[str]]:
    """The n shipped trials --verify would run (each with its checks), and lines saying so."""
    from leaderboards.shipped import shipped_records
    chosen = checks(table, scale, shipped_records())[:n]
    if not chosen:
        raise BenchError(f"--verify: DenseBench ships no {scale} record of table '{table.id}' at its current "
                         "versions (nothing to verify; `bench sweep` measures it)")
    minutes = sum(cs[0].wall_s for cs in chosen) / 60
    lines = [f"verify {table.id} ({scale}): {len(chosen)} shipped trials, about {minutes:.0f} min of evaluation by "
             "their records' wall times, plus each pre-training not cached here"]
    lines += [f"  {cs[0].trial.method}/{cs[0].trial.recipe} seed {cs[0].trial.seed} {cs[0].trial.task}/"
              f"{cs[0].trial.protocol}: " + "; ".join(f"{c.column} shipped {c.shipped:.2f}, bounds [{c.bounds[0]:.2f}, "
                                                       f"{c.bounds[1]:.2f}] ({c.why})" for c in cs) for cs in chosen]
    return chosen, lines


def run_verify(table: Any, scale: str, n: int, jobs: int, results_root: str | None, data_root: str | None,
               log: Path) -> tuple[list[str], int]:
    """Re-run n shipped trials (those your store records already are read, not run again); returns the
    report's lines and how many checks landed outside their bounds."""
    from harness import store
    from harness.files import file_sha256
    from harness.registry import TASKS
    from harness.runs import checkpoint_path
    from app import sweep
    chosen, head = plan_verify(table, scale, n)
    out = head[:1]
    trials = [cs[0].trial for cs in chosen]
    before = {t for t in trials if sweep.recorded(t, scale, results_root, data_root)}
    result = sweep.run(trials, scale, jobs, results_root, data_root, log)
    if result["failed"]:
        raise BenchError(f"--verify: {len(result['failed'])} trials failed; see {log}")
    outside = 0
    for cs in chosen:
        t = cs[0].trial
        ck = checkpoint_path(t.method, t.recipe, t.seed, data_root)
        rec = store.find_record(results_root, t.task, TASKS.protocol(t.task, t.protocol), scale, file_sha256(ck), t.seed)
        for c in cs:
            now = rec["metrics"].get(c.metric) if rec else None
            ok = now is not None and c.bounds[0] <= now <= c.bounds[1]
            outside += not ok
            shown = "missing" if now is None else f"{now:.2f} ({now - c.shipped:+.2f})"
            out.append(f"  {'within ' if ok else 'OUTSIDE'} {t.method}/{t.recipe} seed {t.seed} {t.task}/{t.protocol} "
                       f"{c.column}: shipped {c.shipped:.2f}, here {shown}; bounds [{c.bounds[0]:.2f}, "
                       f"{c.bounds[1]:.2f}] ({c.why})" + (" [your record from before]" if t in before else ""))
    total = sum(len(cs) for cs in chosen)
    out.append(f"{total - outside} of {total} within their bounds")
    return out, outside
