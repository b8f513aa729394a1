"""What one trial of a result record is, for every table that pools records (the leaderboard, the
paper tables, the report): its pre-training (`recipe@vN` for DenseBench's own, whose pre-training
seeds pool; the weights' hash for an imported checkpoint), its pre-training seed and its downstream
seed. A rerun of a trial replaces its earlier record, never doubles it; and a downstream seed that
did not vary the result (a deterministic task) is one trial whatever its value. No pandas here:
`bench table` and the report read these without the leaderboard's data frames."""
from __future__ import annotations

from typing import Any, Iterable, Iterator


def pretrain_seed(r: dict[str, Any]) -> int:
    """The record's pre-training seed where DenseBench pre-trained it (-1: imported weights)."""
    s = (r.get("seeds") or {}).get("pretrain")
    return -1 if s is None or not (r.get("pretrain") or {}).get("recipe") else int(s)


def identity(r: dict[str, Any]) -> str:
    """A row's pre-training: `recipe@vN` for DenseBench's own (its seeds pool), else the weights' hash."""
    p = r.get("pretrain") or {}
    if pretrain_seed(r) >= 0:
        return f"{p['recipe']}@v{p.get('recipe_version')}"
    return (r.get("weights_sha256") or r["checkpoint_sha256"])[:8]


def seed_varied(r: dict[str, Any]) -> bool:
    """Whether the record's downstream seed varied its result (records say None for a deterministic task)."""
    return (r.get("seeds") or {}).get("downstream", r["seed"]) is not None


def trial(r: dict[str, Any]) -> tuple[str, str, int, int]:
    """(method, pre-training identity, pre-training seed, downstream seed or -1 where it varied nothing)."""
    return r["method"], identity(r), pretrain_seed(r), r["seed"] if seed_varied(r) else -1


def trial_key(r: dict[str, Any]) -> tuple:
    """What makes two records the same trial: (task, protocol, version, with overrides or not, scale,
    *trial(r)). A rerun of it replaces the earlier record; a shipped record of it gives way to the
    user's (leaderboards.shipped)."""
    return (r["task"], r["protocol"], r.get("protocol_version"), bool(r.get("overrides")), r["scale"], *trial(r))


def latest_per_trial(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The latest record (by `created`) of each (protocol@version, with or without overrides, scale,
    trial). Where two records of
    one trial hold different numbers, the one left out is named on stderr (once per process), never
    dropped without a word."""
    latest: dict[tuple, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: r.get("created", "")):
        key = trial_key(r)
        old = latest.get(key)
        if old is not None and old["metrics"] != r["metrics"]:
            _say_conflict(old, r)
        latest[key] = r
    return iter(latest.values())


_SAID: set[tuple[str, str]] = set()


def _say_conflict(dropped: dict[str, Any], kept: dict[str, Any]) -> None:
    import sys
    where = (str(dropped.get("_path", dropped.get("created"))), str(kept.get("_path", kept.get("created"))))
    if where in _SAID:
        return
    _SAID.add(where)
    diff = next((f"{k} {dropped['metrics'].get(k)} vs {v}" for k, v in kept["metrics"].items()
                 if dropped["metrics"].get(k) != v), "other metrics")
    proto = f"{kept['task']}/{kept['protocol']}@{kept.get('protocol_version')}"
    print(f"bench: note: two records of one trial ({proto} {kept['scale']}, {kept['method']} "
          f"{identity(kept)}, seeds {pretrain_seed(kept)}/{kept['seed']}) differ ({diff}): kept {where[1]} "
          f"(created {kept.get('created')}), the later by `created` (a rerun replaces its trial: "
          f"leaderboards/trials.py); left out {where[0]} (created {dropped.get('created')})", file=sys.stderr)
