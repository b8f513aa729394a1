"""Run orchestration: pre-train (or reuse a cached checkpoint), then evaluate under a protocol.

Cache layout under $DENSEBENCH_HOME (default ~/.cache/densebench):
    checkpoints/<method>/<recipe>-<key>/backbone.safetensors   (+ train/ with last.pt, tb/)
    results/<task>/<protocol>@<v>/<scale>/<run id>/record.json  (see harness.store)
The pre-training cache key is the hash of (method, the resolved recipe with its version and
overrides, pre-training seed, data identity, torch intra-op threads): the same recipe never trains
twice, a changed one never reuses a stale checkpoint. No path and no time enters it: identical
weights trained in two homes have one identity (the key, and the weights' own sha256). The thread
count does, because it changes the weights (float sums are split differently). One process trains a
cache entry at a time (a file lock, released by the kernel if its holder dies); the others wait and
reuse its checkpoint. An evaluation is staged in a temporary folder and moved into place when its
record is written; a failed run leaves nothing behind.
"""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from harness import store
from harness.api import RunContext
from harness.backbone import IMAGENET_NORM
from harness.files import home
from harness.schema import deep_merge, stable_hash
from harness.errors import BenchError
from harness.logs import warnings_into
from harness.recipe import SCALES, with_overrides
from harness.registry import METHODS, TASKS


def check_seed(seed: Any, what: str = "--seed") -> int:
    """0 <= seed < 2^31 (seeds reach numpy, torch and faiss, whose seeds are 32-bit)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 31:
        raise BenchError(f"{what} {seed!r}: expected a whole number with 0 <= seed < 2^31")
    return seed


_SPLIT_KEYS = ("train", "test", "split", "database", "query")  # protocol `dataset` keys that name a split


def check_data(task_name: str, protocol_ref: str | None, scale: str, data_root: str | None) -> None:
    """At scale paper: the protocol's real data set is present and valid (harness.data.verifier, whose
    stamp makes a second check cheap), before any pre-training, lock or run folder exists. At mini the
    synthetic data is made when the task runs."""
    if scale != "paper":
        return
    ds = TASKS.protocol(task_name, protocol_ref).resolved(scale).get("dataset") or {}
    if not ds.get("layout"):
        return
    from harness.data import real_root
    from harness.data import require_valid
    root = real_root(ds["layout"], data_root)
    for k in _SPLIT_KEYS:
        if isinstance(ds.get(k), str):
            require_valid(ds["layout"], root, ds[k])


def _data_identity(recipe: Any) -> Any:
    """What the pre-training data is, without where it lies: a synthetic set's folder name (its
    version and parameters' hash), or a real set's layout and split. Nothing is read or written."""
    if recipe.train is None:
        return None
    from harness.data import synthetic_path
    ident = [synthetic_path(d.layout, **d.synth).name if d.synth is not None else {"layout": d.layout, "split": d.split}
             for d in (recipe.data, *recipe.data.also)]
    return ident[0] if len(ident) == 1 else ident


@contextlib.contextmanager
def _entry_lock(out: Path):
    """An exclusive lock on one pre-training cache entry (rank 0 of a job takes it for the job)."""
    if os.environ.get("RANK", "0") != "0":
        yield
        return
    from harness.files import exclusive_lock
    with exclusive_lock(out.parent / f".{out.name}.lock", "a checkpoint cache entry (DENSEBENCH_HOME must be writable)"):
        yield


def pretraining_identity(method_name: str, recipe: Any, seed: int) -> dict[str, Any]:
    """What a pre-training is, machine aside: method, recipe identity, seed and data identity. Its
    cache key adds the CPU thread count and any earlier stages' keys (_entry)."""
    return {"method": method_name, "recipe": recipe.identity(), "seed": seed, "data": _data_identity(recipe)}


def _entry(method_name: str, recipe_name: str, seed: int, data_root: str | None,
           overrides: dict[str, Any] | None = None,
           stage_overrides: dict[str, dict] | None = None) -> tuple[Any, str, Path]:
    """(recipe, cache key, entry folder) of one pre-training; nothing is read or written. An earlier stage's key (recipe
    `after`) enters the key, so a changed stage-1 recipe never reuses a stale later stage."""
    import torch
    recipe = with_overrides(METHODS.card(method_name).recipe(recipe_name), overrides)
    ident = pretraining_identity(method_name, recipe, seed)
    if not torch.cuda.is_available():
        # on CPU the intra-op thread count changes the bits of training; on GPUs it does not, and the
        # processes that look a checkpoint up (an evaluation job, another node) need not share it
        ident["torch_threads"] = torch.get_num_threads()
    if recipe.after:
        ident["after"] = {k: _entry(m, r, seed, data_root, (stage_overrides or {}).get(k))[1]
                          for k, (m, r) in recipe.stages().items()}
    key = stable_hash(ident)
    return recipe, key, home() / "checkpoints" / method_name / f"{recipe_name}-{key}"


def checkpoint_path(method_name: str, recipe_name: str, seed: int = 0, data_root: str | None = None) -> Path:
    """Where `pretrain` keeps (or would write) this pre-training's canonical checkpoint; nothing runs."""
    return _entry(method_name, recipe_name, seed, data_root)[2] / "backbone.safetensors"


def pretrain(method_name: str, recipe_name: str, seed: int = 0, data_root: str | None = None,
             progress: bool = True, overrides: dict[str, Any] | None = None,
             stage_overrides: dict[str, dict] | None = None) -> Path:
    """Pre-train `method_name` with its recipe `recipe_name` (or return the cached checkpoint); the
    recipe's earlier stages (`after`) first, each its own cache entry. overrides / stage_overrides
    (Python API, tests): deep-merged into this recipe / the named earlier stage's recipe."""
    check_seed(seed, "--pretrain-seed")
    recipe, key, out = _entry(method_name, recipe_name, seed, data_root, overrides, stage_overrides)
    ckpt = out / "backbone.safetensors"
    if ckpt.exists():
        return ckpt
    if recipe.train is not None:  # the data before any lock or earlier stage: a missing data root fails here
        from harness.data import recipe_data_root
        for d in (recipe.data, *recipe.data.also):
            recipe_data_root(d, data_root)
    stages = {k: pretrain(m, r, seed, data_root, progress, (stage_overrides or {}).get(k))
              for k, (m, r) in recipe.stages().items()}
    with _entry_lock(out):
        if not ckpt.exists():  # another process may have trained it while this one waited
            _train_entry(method_name, recipe, seed, out, ckpt, key, stages, data_root, progress)
    return ckpt


def _train_entry(method_name: str, recipe: Any, seed: int, out: Path, ckpt: Path, key: str,
                 stages: dict[str, Path], data_root: str | None, progress: bool) -> None:
    import torch

    from harness.api import StageContext
    from harness.checkpoint import backbone_state, save_canonical, save_heads, weights_sha256
    from harness.data import recipe_files
    method = METHODS.load(method_name)
    method.params(recipe)  # a wrong hyper-parameter fails before any data is made
    threads = torch.get_num_threads()
    files = recipe_files(recipe.data, data_root) if recipe.train is not None else []
    prepared = method.prepare(recipe, StageContext(seed, files, stages, out, data_root, progress,
                                                   workers=max(1, threads)))
    torch.manual_seed(seed)
    model = method.build(recipe, seed)
    summary: dict[str, Any] = {}
    if recipe.train is not None:
        from harness.engine.trainer import train
        from harness.files import make_dir
        with warnings_into(make_dir(out / "train", "the pre-training folder") / "warnings.log"):
            summary = train(model, method.dataset(recipe, files), recipe.train, out / "train", seed=seed,
                            resume=True, progress=progress)
    from harness.engine import dist as bdist
    if bdist.rank() == 0:
        meta = {"method": method_name, "arch": recipe.arch, "epochs": recipe.epochs, "recipe": recipe.name,
                "recipe_version": recipe.version, "scale": recipe.scale,
                "pretrain_data": recipe.data.label() if recipe.data else "none", "encoder": method.export_encoder,
                "normalization": IMAGENET_NORM, "config": recipe.identity(), "config_hash": key, "seed": seed,
                "torch_threads": threads, "train_summary": summary}
        if stages:
            from harness.checkpoint import read_meta
            meta["after"] = {k: {"checkpoint_key": read_meta(p)["config_hash"], "recipe": recipe.after[k]}
                             for k, p in stages.items()}
        if prepared:
            meta["prepare_summary"] = prepared
        state = backbone_state(method.backbone(model))
        heads = method.heads(model)
        if heads:  # before the checkpoint: its existence marks the cache entry complete
            hmeta = {"method": method_name, "config": recipe.identity()}
            if method.embedding:
                hmeta["embedding"] = method.embedding
            save_heads(ckpt, heads, weights_sha256(state), hmeta)
        save_canonical(ckpt, state, meta)


def _device_and_world() -> tuple[str, int]:
    import torch
    if torch.cuda.is_available():
        return "cuda", max(torch.cuda.device_count(), 1)
    return "cpu", int(os.environ.get("WORLD_SIZE", "1"))


def evaluate(checkpoint: str | Path, task_name: str, protocol_ref: str | None, scale: str, seed: int = 0,
             data_root: str | None = None, results_root: str | Path | None = None,
             overrides: dict[str, Any] | None = None, reuse: bool = False) -> dict[str, Any]:
    """Evaluate a canonical checkpoint under a task protocol at `scale`; write and return the record.

    reuse: a trial already recorded (same checkpoint file, protocol version, scale and seed) is
    returned as it is, with "_reused": True, instead of running again (`bench run --seeds`).

    overrides (Python API only, e.g. tests): deep-merged into the resolved protocol. A run with
    overrides is no longer the protocol: its record's protocol_full gets a '+custom' suffix and
    lists the overrides, so it never sits beside protocol results in a leaderboard.
    """
    from harness.checkpoint import open_checkpoint
    check_seed(seed)
    if scale not in SCALES:
        raise BenchError(f"--scale '{scale}' is not one of {', '.join(SCALES)}")
    card = TASKS.card(task_name)
    protocol = TASKS.protocol(task_name, protocol_ref)
    spec = deep_merge(protocol.resolved(scale), overrides or {})
    # read strictly into the task's schema before any work: a misspelled override is refused here
    settings = protocol.settings(scale, overrides)
    ck = open_checkpoint(checkpoint)
    if ck.meta["scale"] is not None and ck.meta["scale"] != scale:
        raise BenchError(f"{checkpoint} was pre-trained at scale '{ck.meta['scale']}' (recipe "
                         f"'{ck.meta.get('recipe')}'); its numbers may not be mixed with scale '{scale}'")
    if reuse and not overrides:
        found = store.find_record(results_root, task_name, protocol, scale, ck.file_sha256, seed)
        if found is not None:
            return {**found, "_reused": True}
    check_data(task_name, protocol_ref, scale, data_root)
    task = TASKS.load(task_name)
    device, world = _device_and_world()
    staged, final = store.stage_run_dir(results_root, task_name, protocol, scale, ck.meta["method"],
                                        ck.file_sha256, seed)
    try:
        ctx = RunContext(task_name, protocol, scale, spec, ck, seed, staged, data_root, device, world, settings)
        t0 = time.time()
        with warnings_into(staged / "warnings.log"):  # frameworks' warnings: the run's log, not the console
            result = task.run(ctx)
        record = store.make_record(checkpoint=ck, task=task_name, protocol=protocol, scale=scale, seed=seed,
                                   result=result, direction=card.direction(), wall_s=time.time() - t0,
                                   world_size=world, seed_used=card.uses_seed)
        if overrides:
            record["protocol_full"] += "+custom"
            record["overrides"] = overrides
        store.write_record(staged, record)
        store.publish_run_dir(staged, final)
    except BaseException:
        store.discard_run_dir(staged)
        raise
    return {**record, "_path": str(final / "record.json"), "_reused": False}
