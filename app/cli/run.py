"""`bench run` (pre-train or reuse, evaluate, record, print) and `bench pretrain`.

Two words that used to be one: a method's *recipe* (how it pre-trains: `mini`, `paper`,
`paper_in1k_100ep`, ...) and the evaluation *scale* (`paper` or `mini`: the world its numbers
belong to). Each recipe declares its scale; `--scale` defaults to that of `--recipe`, and
`--recipe` to the recipe named like the scale.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from harness.args import seed, seed_list
from harness.errors import BenchError
from harness.scales import SCALES


def common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", default=None, help="root of the real data sets (default $DENSEBENCH_DATA)")
    p.add_argument("--results-root", default=None, help="results store (default $DENSEBENCH_HOME/results)")


def recipe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", default=None, help="the method's pre-training recipe (see bench ls; default: "
                   "the one named like --scale)")
    p.add_argument("--scale", default=None, choices=SCALES, help="evaluation scale: mini (synthetic, CPU minutes; "
                   "default) or paper (the published protocol)")
    p.add_argument("--profile", default=None, help=argparse.SUPPRESS)  # before the split: recipe and scale in one


def resolve_recipe_scale(args: argparse.Namespace) -> tuple[str, str]:
    """(recipe, scale) of the arguments; a recipe of another scale than --scale is refused."""
    from harness.registry import METHODS
    recipe, scale = args.recipe, args.scale
    if args.profile is not None:
        if recipe or scale:
            raise BenchError("--profile is the old name of --recipe/--scale; give either it or them, not both")
        print("bench: note: --profile is deprecated; use --scale (mini|paper) and --recipe", file=sys.stderr)
        recipe, scale = (None, args.profile) if args.profile in SCALES else (args.profile, None)
    if recipe is None:
        return scale or "mini", scale or "mini"
    if getattr(args, "method", None):
        r_scale = METHODS.card(args.method).recipe(recipe).scale
        if scale is not None and scale != r_scale:
            raise BenchError(f"--recipe {recipe} of method '{args.method}' is a {r_scale}-scale recipe; its checkpoint "
                             f"cannot be evaluated at --scale {scale}")
        scale = r_scale
    return recipe, scale or "mini"


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="pre-train (or reuse), convert, evaluate, record, print the result")
    p.add_argument("--method", help="registered method (see bench ls), or the checkpoint's name with --checkpoint")
    p.add_argument("--task", required=True)
    p.add_argument("--protocol", default=None, help="protocol id, id@version or task/id@version (default: the "
                   "task's default protocol; only the current version runs)")
    recipe_args(p)
    trials = p.add_mutually_exclusive_group()
    trials.add_argument("--seed", type=seed, default=None, help="seed of the downstream run (0 <= seed < 2^31; "
                        "default 0, or seeds 0..N-1 where the protocol sets N trials)")
    trials.add_argument("--seeds", type=seed_list, default=None, help="one trial per seed, e.g. 0-4 or 0,2,5: "
                        "trials already recorded are not run again; prints mean +- std over the trials")
    p.add_argument("--pretrain-seed", type=seed, default=0, help="seed of the pre-training (part of its cache key)")
    p.add_argument("--checkpoint", default=None, help="evaluate this canonical checkpoint instead of pre-training")
    p.add_argument("--json", action="store_true", help="print the result record as one JSON line on stdout")
    common(p)
    p.set_defaults(fn=_run)

    p = sub.add_parser("pretrain", help="pre-train a method (works under torchrun) and print the checkpoint path")
    p.add_argument("--method", required=True)
    p.add_argument("--launcher", choices=["torchrun", "slurm"], default="torchrun",
                   help="where the process group's variables come from: torchrun's (default; also one process "
                        "without it) or SLURM's (srun, one task per process)")
    recipe_args(p)
    p.add_argument("--seed", type=seed, default=0, help="seed of the pre-training (0 <= seed < 2^31)")
    common(p)
    p.set_defaults(fn=_pretrain)


def trial_seeds(args: argparse.Namespace, task: str, scale: str) -> list[int]:
    """--seeds, or --seed, or the protocol's own number of trials at this scale (seeds 0..N-1), or [0]."""
    from harness.registry import TASKS
    if args.seeds is not None:
        return args.seeds
    if args.seed is not None:
        return [args.seed]
    n = TASKS.protocol(task, args.protocol).resolved(scale).get("trials", 1)
    return list(range(n))


def _run(args: argparse.Namespace) -> None:
    from app.cli.results import leaderboard_text
    from harness.registry import METHODS, TASKS
    TASKS.protocol(args.task, args.protocol)  # fail fast on a bad task, protocol or version
    if args.method and not args.checkpoint:
        METHODS.entry(args.method)
    recipe, scale = resolve_recipe_scale(args)
    seeds = trial_seeds(args, args.task, scale)
    out = sys.stderr if args.json else sys.stdout
    from harness import runs, store
    runs.check_data(args.task, args.protocol, scale, args.data_root)  # before any pre-training or lock
    store.check_writable(store.results_root(args.results_root))
    recs = []
    with contextlib.redirect_stdout(out):  # --json: stdout carries the records alone
        if args.checkpoint:
            ckpt = Path(args.checkpoint)
        else:
            if not args.method:
                raise BenchError("bench run needs --method NAME or --checkpoint PATH")
            ckpt = runs.pretrain(args.method, recipe, args.pretrain_seed, args.data_root)
            print(f"checkpoint: {ckpt}")
        names = TASKS.card(args.task).metric_names
        for s in seeds:
            rec = runs.evaluate(ckpt, args.task, args.protocol, scale, s, args.data_root, args.results_root,
                                reuse=len(seeds) > 1)
            if args.method and args.checkpoint and rec["method"] != args.method and not recs:
                print(f"note: --method {args.method} ignored; the checkpoint says method '{rec['method']}'")
            m = rec["metrics"]
            shown = "  ".join(f"{k} {'n/a' if m[k] is None else format(m[k], '.1f')}" for k in names if k in m)
            done = " (recorded before: not run again)" if rec["_reused"] else ""
            print(f"{rec['protocol_full']} ({rec['scale']}) {rec['method']} seed {rec['seed']}: {shown}{done}")
            recs.append(rec)
        if len(recs) > 1:
            print(trials_summary(recs, names))
        print("\n" + leaderboard_text(args.task, recs[-1]["scale"], recs[-1]["protocol"], "md", args.results_root))
    if args.json:
        for rec in recs:
            print(json.dumps({k: v for k, v in rec.items() if not k.startswith("_")}, sort_keys=True))


def trials_summary(recs: list[dict], names: list[str]) -> str:
    """'n trials (seeds ...): metric mean +- std, ...' (sample std, n - 1) over the records."""
    import statistics
    parts = []
    for k in names:
        vals = [r["metrics"][k] for r in recs if r["metrics"].get(k) is not None]
        if vals:
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            parts.append(f"{k} {statistics.fmean(vals):.2f} +- {sd:.2f}")
    return f"{len(recs)} trials (seeds {', '.join(str(r['seed']) for r in recs)}): " + "  ".join(parts)


def _pretrain(args: argparse.Namespace) -> None:
    import os
    if args.launcher == "slurm":
        from harness.engine.dist import slurm_env
        os.environ.update(slurm_env())
    from harness import runs
    from harness.registry import METHODS
    METHODS.entry(args.method)
    recipe, _ = resolve_recipe_scale(args)
    print(runs.pretrain(args.method, recipe, args.seed, args.data_root))
