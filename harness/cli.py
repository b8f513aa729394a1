"""`bench`: the DenseBench command line. Run `bench -h` or `bench <command> -h`.

Errors are one line, `bench: <what was wrong>`, with exit status 2.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from harness.errors import BenchError


def _ls(args: argparse.Namespace) -> None:
    from harness.registry import METHODS, TASKS
    print("methods (bench run --method NAME; profiles in brackets):")
    for name in METHODS.names():
        m = METHODS.get(name)
        print(f"  {name:<12} [{', '.join(m.profiles)}]  {m.description}")
    print("\ntasks (bench run --task NAME [--protocol ID]; * = default protocol):")
    for name in TASKS.names():
        t = TASKS.get(name)
        print(f"  {name:<12} {t.description}")
        for p in t.protocols.values():
            print(f"    {'*' if p.default else ' '} {p.full_id:<48} [paper, mini]")


def _print_result(rec: dict, task_metrics: tuple[str, ...]) -> None:
    m = rec["metrics"]
    shown = "  ".join(f"{k} {'n/a' if m[k] is None else format(m[k], '.1f')}" for k in task_metrics if k in m)
    print(f"{rec['protocol_full']} ({rec['profile']}) {rec['method']} seed {rec['seed']}: {shown}")


def _leaderboard_text(task: str, profile: str | None, protocol: str | None, fmt: str, root: str | None,
                      all_metrics: bool = False) -> str:
    from harness import store
    from harness.registry import TASKS
    from leaderboards.table import frame, render, summarise
    df = frame(store.iter_records(root), task, profile, protocol)
    metrics = TASKS.get(task).metrics
    if all_metrics:  # every metric the records hold (e.g. per-class IoU), headline ones first
        metrics = (*metrics, *sorted(c for c in df.columns if c not in metrics and c not in
                                     ("method", "checkpoint", "protocol", "profile", "seed")))
    return render(summarise(df, metrics), fmt)


def _run(args: argparse.Namespace) -> None:
    from harness import runs
    from harness.registry import TASKS
    task = TASKS.get(args.task)  # fail fast on a bad name, before any training
    protocol = task.protocol(args.protocol)
    out = sys.stderr if args.json else sys.stdout
    with contextlib.redirect_stdout(out):  # --json: stdout carries the record alone
        if args.checkpoint:
            ckpt = Path(args.checkpoint)
        else:
            if not args.method:
                raise BenchError("bench run needs --method NAME or --checkpoint PATH")
            ckpt = runs.pretrain(args.method, args.profile, args.pretrain_seed, args.data_root)
            print(f"checkpoint: {ckpt}")
        rec = runs.evaluate(ckpt, args.task, protocol.id, runs.scale_of(args.profile), args.seed, args.data_root,
                            args.results_root)
        if args.method and args.checkpoint and rec["method"] != args.method:
            print(f"note: --method {args.method} ignored; the checkpoint says method '{rec['method']}'")
        _print_result(rec, task.metrics)
        print("\n" + _leaderboard_text(args.task, rec["profile"], protocol.id, "md", args.results_root))
    if args.json:
        print(json.dumps(rec, sort_keys=True))


def _pretrain(args: argparse.Namespace) -> None:
    from harness import runs
    print(runs.pretrain(args.method, args.profile, args.seed, args.data_root))


def _convert(args: argparse.Namespace) -> None:
    from harness.checkpoint import load_canonical
    from harness.convert import BACKENDS
    state, _ = load_canonical(args.input)
    rep = BACKENDS[args.to](state, args.output)
    print(f"{args.output}: {rep.summary()}")


def _import(args: argparse.Namespace) -> None:
    from harness.checkpoint import save_canonical
    from harness.convert import import_meta, import_state
    state, arch, rep = import_state(args.input, args.source)
    meta = import_meta(args.source, arch, Path(args.input), method=args.method, epochs=args.epochs,
                       pretrain_data=args.pretrain_data)
    save_canonical(args.output, state, meta)
    print(f"{args.output}: {arch}, {rep.summary()}")
    for k in rep.dropped[:20]:
        print(f"  dropped {k}")
    if len(rep.dropped) > 20:
        print(f"  ... and {len(rep.dropped) - 20} more dropped keys")


def _synth(args: argparse.Namespace) -> None:
    from harness.data import write_synthetic
    counts = {k: v for k, v in (("n_train", args.n_train), ("n_val", args.n_val)) if v is not None}
    out = write_synthetic(args.layout, args.out, seed=args.seed, **counts)
    print(f"wrote synthetic {args.layout} to {out}")


def _results(args: argparse.Namespace) -> None:
    from harness import store
    db = store.rebuild_index(args.results_root)
    recs = store.iter_records(args.results_root)
    print(f"{db}: {len(recs)} runs indexed")
    for r in recs:
        print(f"  {r['task']:<10} {r['protocol_full']:<42} {r['profile']:<6} {r['method']:<10} seed {r['seed']}")


def _leaderboard(args: argparse.Namespace) -> None:
    from harness.registry import TASKS
    TASKS.get(args.task)
    print(_leaderboard_text(args.task, args.profile, args.protocol, args.format, args.results_root, args.all))


def _perf(args: argparse.Namespace) -> None:
    from harness.perf import davis_speed, run_all
    from harness.registry import METHODS
    if args.davis:
        if args.davis_sequences < 1 or args.davis_frames < 3:
            raise BenchError(f"--davis-sequences must be >= 1 and --davis-frames >= 3 (first and last frames are "
                             f"not scored); got {args.davis_sequences} and {args.davis_frames}")
        r = davis_speed(n_seq=args.davis_sequences, n_frames=args.davis_frames)
        print(json.dumps(r) if args.json else
              f"DAVIS J&F on {r['sequences']} x {r['frames']} frames at {r['size']}: reference (per-frame, official "
              f"algorithm) {r['reference_s']} s, densebench {r['densebench_s']} s, {r['speedup']}x faster, "
              f"identical numbers: {r['identical']} (J&F-Mean {r['J&F-Mean']})")
        return
    names = args.method or [n for n in METHODS.names() if METHODS.get(n).config("mini").get("train") is not None]
    for n in names:
        METHODS.get(n)  # did-you-mean before any work
    rows = run_all(names, args.steps)
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'method':<12} {'batch':>5} {'device':>6} {'step s':>8} {'img/s':>7} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['method']:<12} {r['batch']:>5} {r['device']:>6} {r['step_s']:>8.3f} {r['images_per_s']:>7.1f} {r['peak_mem_mib']:>9.0f}")


def _davis_score(args: argparse.Namespace) -> None:
    from benchmarks.davis_score import evaluate, write_csvs
    glob, rows = evaluate(args.davis_root, args.results, args.set, args.workers)
    g, s = write_csvs(args.results, args.set, glob, rows)  # always recomputed: never a stale CSV
    print("  ".join(f"{k} {v:.3f}" for k, v in glob.items()))
    print(f"wrote {g} and {s}")


def _inspect_slots(args: argparse.Namespace) -> None:
    from pretrainers.inspect_slots import inspect
    active = inspect(args.checkpoint, args.image, args.out, args.size)
    for im, n in zip(args.image, active):
        print(f"{im}: {n} active slots")
    print(f"mean {sum(active) / len(active):.1f} active slots per image; overlay written to {args.out}")


def _inspect_rank(args: argparse.Namespace) -> None:
    from harness.inspect_rank import STAGES, image_list, rank_table
    if args.images:
        folder = Path(args.images)
    else:  # the mini profile's synthetic COCO val images (written on first use)
        from harness.data import dataset_root
        folder = dataset_root("coco", "mini", None, {}) / "val2017"
    images = image_list(folder, args.n)
    rows = rank_table([Path(c) for c in args.checkpoint], images, tuple(args.size))
    print(f"effective rank of each stage's features ({len(images)} images from {folder}, {args.size[0]}x{args.size[1]} px)")
    print(f"{'':<40}" + "".join(f"{s:>9}" for s in STAGES))
    for name, ranks in rows:
        print(f"{name:<40}" + "".join(f"{r:>9.1f}" for r in ranks))


def _doctor(args: argparse.Namespace) -> None:
    from harness.doctor import report
    print(report(args.data_root))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="bench", description="DenseBench: pre-train, convert, evaluate, compare.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("ls", help="list methods, tasks and protocols").set_defaults(fn=_ls)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-root", default=None, help="root of the real data sets (default $DENSEBENCH_DATA)")
        p.add_argument("--results-root", default=None, help="results store (default $DENSEBENCH_HOME/results)")

    p = sub.add_parser("run", help="pre-train (or reuse), convert, evaluate, record, print the result")
    p.add_argument("--method", help="registered method (see bench ls), or the checkpoint's name with --checkpoint")
    p.add_argument("--task", required=True)
    p.add_argument("--protocol", default=None, help="protocol id (default: the task's default protocol)")
    p.add_argument("--profile", default="mini",
                   help="mini, paper, or a method's named paper profile (e.g. paper_in1k_100ep; evaluated as paper)")
    p.add_argument("--seed", type=int, default=0, help="seed of the downstream run")
    p.add_argument("--pretrain-seed", type=int, default=0, help="seed of the pre-training (part of its cache key)")
    p.add_argument("--checkpoint", default=None, help="evaluate this canonical checkpoint instead of pre-training")
    p.add_argument("--json", action="store_true", help="print the result record as one JSON line on stdout")
    common(p)
    p.set_defaults(fn=_run)

    p = sub.add_parser("pretrain", help="pre-train a method (works under torchrun) and print the checkpoint path")
    p.add_argument("--method", required=True)
    p.add_argument("--profile", default="mini", help="mini, paper, or a method's named paper profile")
    p.add_argument("--seed", type=int, default=0)
    common(p)
    p.set_defaults(fn=_pretrain)

    p = sub.add_parser("convert", help="canonical checkpoint -> backend weights")
    p.add_argument("--to", required=True, choices=["detectron2", "torchvision", "mmseg"])
    p.add_argument("input")
    p.add_argument("output")
    p.set_defaults(fn=_convert)

    p = sub.add_parser("import", help="official release or torchvision file -> canonical checkpoint")
    p.add_argument("--from", dest="source", required=True,
                   help="torchvision, pixpro, pixcontrast, slotcon, mocov2, orl, densecl, byol")
    p.add_argument("--method", default=None, help="method name to record (default: the --from name)")
    p.add_argument("--epochs", default="unknown")
    p.add_argument("--pretrain-data", default="unknown")
    p.add_argument("input")
    p.add_argument("output")
    p.set_defaults(fn=_import)

    p = sub.add_parser("data", help="data utilities")
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    s = dsub.add_parser("synth", help="write a synthetic data set in a real layout")
    s.add_argument("--layout", required=True, help="coco, voc, cityscapes, ade20k or davis")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n-train", type=int, default=None, help="train images or sequences (default: the layout's mini size)")
    s.add_argument("--n-val", type=int, default=None)
    s.set_defaults(fn=_synth)

    p = sub.add_parser("results", help="rebuild the SQLite index from the records and list runs")
    p.add_argument("--results-root", default=None)
    p.set_defaults(fn=_results)

    p = sub.add_parser("leaderboard", help="results of one protocol side by side, mean +- std over seeds")
    p.add_argument("--task", required=True)
    p.add_argument("--profile", default=None)
    p.add_argument("--protocol", default=None)
    p.add_argument("--format", default="md", choices=["md", "csv", "json"])
    p.add_argument("--results-root", default=None)
    p.add_argument("--all", action="store_true", help="every recorded metric (per-class IoU, ...), not only the headline ones")
    p.set_defaults(fn=_leaderboard)

    p = sub.add_parser("perf", help="training step time and peak memory per method at the mini batch")
    p.add_argument("--method", action="append", help="method to measure (repeatable; default: all that train)")
    p.add_argument("--steps", type=int, default=5, help="timed steps after one warm-up step (median reported)")
    p.add_argument("--davis", action="store_true", help="instead: DAVIS J&F scoring speed against the official algorithm")
    # DAVIS-2017 val has 30 sequences of 25-104 frames (about 67 on average) at 854x480
    p.add_argument("--davis-sequences", type=int, default=8, help="synthetic 854x480 sequences to score (default 8)")
    p.add_argument("--davis-frames", type=int, default=40, help="frames per sequence (default 40)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_perf)

    p = sub.add_parser("davis-score", help="DAVIS-2017 semi-supervised J&F of a directory of predictions")
    p.add_argument("--davis-root", required=True, help="DAVIS-2017 root (JPEGImages/, Annotations/, ImageSets/)")
    p.add_argument("--results", required=True, help="predictions: <results>/<sequence>/<frame>.png (indexed)")
    p.add_argument("--set", default="val", help="ImageSets/2017/<set>.txt (default val)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.set_defaults(fn=_davis_score)

    p = sub.add_parser("inspect", help="look inside a checkpoint")
    isub = p.add_subparsers(dest="inspect_cmd", required=True)
    s = isub.add_parser("slots", help="overlay SlotCon's pixel-to-prototype assignment on images; count active slots")
    s.add_argument("--checkpoint", required=True, help="a slotcon canonical checkpoint (heads file beside it)")
    s.add_argument("--image", required=True, action="append", help="image file (repeatable)")
    s.add_argument("--out", default="slots.png", help="PNG to write (default slots.png)")
    s.add_argument("--size", type=int, default=None, help="input side in px (default: the pre-training crop)")
    s.set_defaults(fn=_inspect_slots)
    s = isub.add_parser("rank", help="effective rank of each stage's features beside random init (collapse check)")
    s.add_argument("--checkpoint", required=True, action="append", help="canonical checkpoint (repeatable)")
    s.add_argument("--images", default=None, help="folder of images (default: the mini synthetic COCO val2017)")
    s.add_argument("--n", type=int, default=40, help="number of images, sorted by name (default 40)")
    s.add_argument("--size", type=int, nargs=2, default=[96, 128], metavar=("H", "W"), help="input size (default 96 128)")
    s.set_defaults(fn=_inspect_rank)

    p = sub.add_parser("doctor", help="versions, compiled ops, data root and data sets found")
    p.add_argument("--data-root", default=None)
    p.set_defaults(fn=_doctor)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.fn(args)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
