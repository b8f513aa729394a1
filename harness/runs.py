"""Run orchestration: pre-train (or reuse a cached checkpoint), convert, evaluate, record.

Cache layout under $DENSEBENCH_HOME (default ~/.cache/densebench):
    checkpoints/<method>/<profile>-<config hash>/backbone.safetensors   (+ train/ with last.pt, tb/)
    results/<task>/<protocol>@<v>/<profile>/<run id>/record.json        (see harness.store)
The pre-training cache key is the hash of (method, profile, resolved config, pre-training seed):
the same config never trains twice, a changed one never reuses a stale checkpoint.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from harness import store
from harness.checkpoint import IMAGENET_NORM, backbone_state, read_meta, save_canonical, save_heads, weights_sha256
from harness.config import file_sha256, home, stable_hash
from harness.data import dataset_root, pretrain_files
from harness.engine.trainer import TrainSpec, train
from harness.errors import BenchError
from harness.registry import METHODS, TASKS


def scale_of(profile: str) -> str:
    """The evaluation scale of a pre-training profile: 'mini', or 'paper' for every paper* recipe."""
    return "mini" if profile == "mini" else "paper"


def pretrain(method_name: str, profile: str, seed: int = 0, data_root: str | None = None,
             progress: bool = True, overrides: dict[str, Any] | None = None) -> Path:
    """Pre-train `method_name` at `profile` (or return the cached checkpoint). Returns its path."""
    method = METHODS.get(method_name)
    cfg = {**method.config(profile), **(overrides or {}), "seed": seed}
    root = None
    if cfg.get("train") is not None:
        data = cfg["data"]
        root = dataset_root(data["layout"], profile, data_root, data.get("synth"))
    # the data location is part of the key: a new synthetic data version never reuses old weights
    key = stable_hash({"method": method_name, "profile": profile, "config": cfg, "data": str(root)})
    out = home() / "checkpoints" / method_name / f"{profile}-{key}"
    ckpt = out / "backbone.safetensors"
    if ckpt.exists():
        return ckpt
    torch.manual_seed(seed)
    model = method.build(cfg)
    summary: dict[str, Any] = {}
    if root is not None:
        data = cfg["data"]
        files = pretrain_files(data["layout"], root, data["split"])
        spec = TrainSpec.from_dict({**cfg["train"], "seed": seed})
        summary = train(model, method.dataset(cfg, files), spec, out / "train", resume=True, progress=progress)
    from harness.engine import dist as bdist
    if bdist.rank() == 0:
        meta = {"method": method_name, "arch": cfg["arch"], "epochs": cfg["epochs_label"], "profile": profile,
                "pretrain_data": (f"{cfg['data']['layout']}:{cfg['data']['split']}" + (" (synthetic)" if profile == "mini" else ""))
                if cfg.get("data") else "none", "encoder": method.export_encoder, "normalization": IMAGENET_NORM,
                "config": cfg, "config_hash": key, "seed": seed, "train_summary": summary}
        state = backbone_state(method.backbone(model))
        heads = method.heads(model)
        if heads:  # before the checkpoint: its existence marks the cache entry complete
            save_heads(ckpt, heads, weights_sha256(state), {"method": method_name, "config": cfg})
        save_canonical(ckpt, state, meta)
    return ckpt


def evaluate(checkpoint: Path, task_name: str, protocol_id: str | None, profile: str, seed: int = 0,
             data_root: str | None = None, results_root: Path | None = None,
             overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate a canonical checkpoint under a task protocol; write and return the result record.

    overrides (Python API only, e.g. tests): deep-merged into the resolved protocol. A run with
    overrides is no longer the protocol: its record's protocol_full gets a '+custom' suffix and
    lists the overrides, so it never sits beside protocol results in a leaderboard.
    """
    task = TASKS.get(task_name)
    protocol = task.protocol(protocol_id)
    meta = read_meta(checkpoint)
    if meta.get("profile") != "imported" and scale_of(meta.get("profile", "")) != profile:
        raise BenchError(f"{checkpoint} was pre-trained at profile '{meta.get('profile')}'; "
                         f"its numbers may not be mixed with profile '{profile}'")
    sha = file_sha256(checkpoint)
    run_dir = store.new_run_dir(results_root, task_name, protocol, profile, meta["method"], sha, seed)
    t0 = time.time()
    out = task.evaluate(Path(checkpoint), protocol, profile, seed, run_dir, data_root, overrides or {})
    record = store.make_record(method=meta["method"], checkpoint=str(checkpoint), checkpoint_sha256=sha,
                               checkpoint_meta=meta, task=task_name, protocol=protocol, profile=profile,
                               seed=seed, metrics=out["metrics"], config=out["config"], notes=out.get("notes", {}),
                               wall_s=time.time() - t0)
    if overrides:
        record["protocol_full"] += "+custom"
        record["overrides"] = overrides
    store.write_record(run_dir, record)
    return record
