"""Leaderboard tables from result records: one row per (method, pre-training) of the same protocol and
scale, each metric as mean +- std over seeds, the best mean per column marked (the highest, or the
lowest for a metric whose task card says lower is better).

Rows of different protocols or scales are never put side by side: they are not comparable. A row's
pre-training is its recipe and recipe version where DenseBench pre-trained it (`mini@v2`): the
checkpoints of one recipe's pre-training seeds pool into one row, each (pre-training seed, downstream
seed) one trial. An imported checkpoint (no recipe) is identified by the hash of its weights (not of
its file: the same weights in two homes are one row). Only seeds that varied the result count: runs
of a deterministic task (its card's uses_seed is false) with different seeds are one number, not several.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import pandas as pd

from harness.errors import BenchError
from leaderboards.trials import latest_per_trial, seed_varied, trial


KEYS = ["protocol", "scale", "method", "checkpoint"]


def frame(records: Sequence[dict[str, Any]], task: str, scale: str | None = None,
          protocol: str | None = None) -> pd.DataFrame:
    """Long table of the task's runs: one row per (protocol, scale, method, checkpoint, seed), the
    latest record where a run was repeated (a rerun replaces, never doubles, a seed), one column per metric."""
    pid, _, version = (protocol or "").split("/")[-1].partition("@")
    mine = [r for r in records if r["task"] == task and (scale is None or r["scale"] == scale)
            and (not pid or r["protocol"] == pid) and (not version or str(r["protocol_version"]) == version)]
    rows = [{**dict(zip(("method", "checkpoint", "pseed", "seed"), trial(r))),
             "protocol": r["protocol_full"], "scale": r["scale"],
             "seed_varied": seed_varied(r), "created": r.get("created", ""), **r["metrics"]}
            for r in latest_per_trial(mine)]
    if not rows:
        raise BenchError(f"no results for task '{task}'" + (f" protocol '{protocol}'" if protocol else "")
                         + (f" at scale '{scale}'" if scale else "") + " (run `bench run --task ...` first)")
    df = pd.DataFrame(rows).sort_values("created", kind="stable")
    return df.drop(columns="created").reset_index(drop=True)


def summarise(df: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Group by (protocol, scale, method, pre-training): mean, std and count over trials
    (pre-training seed x downstream seed)."""
    metrics = [m for m in metrics if m in df.columns] or [c for c in df.columns if "/" in c]
    df = df.assign(**{m: pd.to_numeric(df[m], errors="coerce") for m in metrics})  # null (no value) -> NaN
    g = df.groupby(KEYS, sort=True)
    out = g[metrics].agg(["mean", "std"])
    # trials that varied the result (a deterministic task on one checkpoint: 1)
    out["seeds"] = g.size() if "pseed" in df.columns else g["seed"].nunique()
    down = g["seed_varied"].any() if "seed_varied" in df.columns else g["seed"].count() > 0
    pre = g["pseed"].nunique() > 1 if "pseed" in df.columns else down & False
    out["varied"] = [("pretrain+downstream" if p else "downstream") if d else ("pretrain" if p else "none")
                     for p, d in zip(pre, down)]
    return out


def render(summary: pd.DataFrame, fmt: str, higher_is_better: dict[str, bool] | None = None) -> str:
    """md | csv | json. In md each cell is 'mean +- std' and the best mean per column (within a
    protocol and scale) is bold: the highest, or the lowest where higher_is_better[metric] is False."""
    hib = higher_is_better or {}
    metrics = [m for m in summary.columns.get_level_values(0).unique() if m not in ("seeds", "varied")]
    if fmt == "json":
        rows = []
        for idx, row in summary.iterrows():
            d = dict(zip(KEYS, idx))
            d.update({m: {"mean": _num(row[(m, "mean")]), "std": _num(row[(m, "std")])} for m in metrics})
            d["seeds"] = int(row[("seeds", "")])
            d["seeds_varied"] = row[("varied", "")]
            rows.append(d)
        return json.dumps(rows, indent=1)
    if fmt == "csv":
        flat = summary.copy()
        flat.columns = [f"{a}_{b}" if b else a for a, b in flat.columns]
        return flat.reset_index().to_csv(index=False)
    if fmt != "md":
        raise BenchError(f"--format '{fmt}' is not one of md, csv, json")
    blocks = []
    for (proto, prof), part in summary.groupby(level=["protocol", "scale"], sort=True):
        best = {m: part[(m, "mean")].max() if hib.get(m, True) else part[(m, "mean")].min() for m in metrics}
        head = "| method | pre-training | seeds | " + " | ".join(metrics) + " |"
        lines = [f"{proto} ({prof})", "", head, "|" + "---|" * (3 + len(metrics))]
        for idx, row in part.iterrows():
            cells = []
            for m in metrics:
                mu, sd = row[(m, "mean")], row[(m, "std")]
                cell = "n/a" if pd.isna(mu) else f"{mu:.1f}" + (f" +- {sd:.1f}" if pd.notna(sd) else "")
                cells.append(f"**{cell}**" if mu == best[m] and len(part) > 1 else cell)
            n = f"{int(row[('seeds', '')])}" + {"none": " (deterministic)", "pretrain": " (pre-training seeds)"}.get(
                row[("varied", "")], "")
            lines.append(f"| {idx[2]} | {idx[3]} | {n} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _num(x: Any) -> float | None:
    return None if pd.isna(x) else float(x)
