"""`bench perf`: training step time and peak memory per method; `--davis`: J&F scoring speed;
`--coco-eval`: COCO evaluation time, pycocotools against faster-coco-eval."""
from __future__ import annotations

import argparse
import json

from harness.cli.args import positive
from harness.errors import BenchError


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("perf", help="training step time and peak memory per method at the mini batch")
    p.add_argument("--method", action="append", help="method to measure (repeatable; default: all that train)")
    p.add_argument("--steps", type=positive, default=5, help="timed steps after one warm-up step (median reported)")
    p.add_argument("--davis", action="store_true", help="instead: DAVIS J&F scoring speed against the official algorithm")
    # DAVIS-2017 val has 30 sequences of 25-104 frames (about 67 on average) at 854x480
    p.add_argument("--davis-sequences", type=positive, default=8, help="synthetic 854x480 sequences to score (default 8)")
    p.add_argument("--davis-frames", type=positive, default=40, help="frames per sequence (default 40)")
    p.add_argument("--davis-official", metavar="DIR", help="with --davis: also run the official program from a "
                   "checkout of davisvideochallenge/davis2017-evaluation at DIR on the same files (CSVs compared)")
    p.add_argument("--coco-eval", action="store_true", help="instead: COCO evaluation time, pycocotools against "
                   "faster-coco-eval, box and mask, same numbers checked")
    p.add_argument("--coco-images", type=positive, default=5000, help="synthetic val images (default 5000, COCO val's size)")
    p.add_argument("--contention", action="store_true", help="instead: step time of --method (default mocov2) "
                   "under each OpenMP wait setting, alone and beside one CPU-bound process (harness/threads.py)")
    p.add_argument("--official", metavar="DIR", help="instead: the step of --method (one) beside the official "
                   "implementation's, from a checkout of its repository at DIR (harness/perf_official.py)")
    p.add_argument("--batch", type=positive, help="images per step (default: the recipe's per-GPU batch as "
                   "published; with --official 8)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where the steps run (auto: CUDA when present). cuda: the paper recipe by default, at its "
                        "per-GPU batch and precision, with TFLOP/s and the fraction of the GPU's measured peak")
    p.add_argument("--recipe", help="recipe to measure (default: mini; paper with --device cuda)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_perf)


def _entry(name: str):
    from importlib.metadata import entry_points
    eps = [ep for ep in entry_points(group="densebench.perf") if ep.name == name]
    if not eps:
        raise BenchError(f"no '{name}' benchmark registered (entry point group densebench.perf)")
    return eps[0].load()


def _coco_eval(args: argparse.Namespace) -> None:
    r = _entry("coco-eval")(n_images=args.coco_images)
    if args.json:
        print(json.dumps(r))
        return
    print(f"COCO evaluation of {r['detections']} detections on {r['images']} synthetic images:")
    for iou in ("bbox", "segm"):
        print(f"  {iou}: pycocotools {r[f'{iou}_pycocotools_s']} s, faster-coco-eval {r[f'{iou}_faster-coco-eval_s']} s, "
              f"{r[f'{iou}_speedup']}x faster; largest difference of the 12 summary numbers {r[f'{iou}_max_abs_diff']:.2g}")


def _davis(args: argparse.Namespace) -> None:
    from importlib.metadata import entry_points
    if args.davis_sequences < 1 or args.davis_frames < 3:
        raise BenchError(f"--davis-sequences must be >= 1 and --davis-frames >= 3 (first and last frames are "
                         f"not scored); got {args.davis_sequences} and {args.davis_frames}")
    eps = [ep for ep in entry_points(group="densebench.perf") if ep.name == "davis"]
    if not eps:
        raise BenchError("no DAVIS scorer benchmark registered (entry point densebench.perf: davis)")
    r = eps[0].load()(n_seq=args.davis_sequences, n_frames=args.davis_frames, official=args.davis_official)
    if args.json:
        print(json.dumps(r))
        return
    print(f"DAVIS J&F on {r['sequences']} x {r['frames']} frames at {r['size']}: reference (per-frame, official "
          f"algorithm) {r['reference_s']} s, densebench scorer {r['densebench_s']} s ({r['speedup']}x faster), "
          f"whole `bench davis-score` command {r['command_s']} s (median of {len(r['command_runs_s'])}; "
          f"{r['command_speedup']}x; {r['command_minor_faults']} minor page faults), "
          f"identical numbers: {r['identical']} (J&F-Mean {r['J&F-Mean']})")
    if args.davis_official:
        print(f"official davis2017-evaluation program {r['official_command_s']} s (median of "
              f"{len(r['official_runs_s'])}, interleaved with ours; {r['official_minor_faults']} minor page faults): `bench davis-score` "
              f"{r['official_speedup']}x faster end to end; CSVs identical: {r['official_csvs_identical']}")


def _contention(args: argparse.Namespace) -> None:
    from harness.registry import METHODS
    if args.method and len(args.method) > 1:
        raise BenchError(f"--contention measures one --method; got {', '.join(args.method)}")
    method = (args.method or ["mocov2"])[0]
    METHODS.card(method).recipe("mini")  # did-you-mean before any work
    from harness.perf import contention
    rows = contention(method, args.steps)
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{method} mini step (batch {rows[0]['batch']}), median of {args.steps} steps, each setting in its own process")
    print(f"{'setting':<32} {'threads':>7} {'alone s':>8} {'beside a busy process s':>24}")
    for name in dict.fromkeys(r["setting"] for r in rows):
        a, b = (next(r for r in rows if r["setting"] == name and r["competitor"] == c) for c in (False, True))
        print(f"{name:<32} {a['threads']:>7} {a['step_s']:>8.3f} {b['step_s']:>24.3f}")


def _official(args: argparse.Namespace) -> None:
    from harness.perf_official import adapters, compare_in_subprocess
    if not args.method or len(args.method) != 1:
        raise BenchError(f"--official {args.official}: name exactly one --method (one of {', '.join(sorted(adapters()))})")
    r = compare_in_subprocess(args.method[0], args.official, args.steps, args.batch or 8)
    if args.json:
        print(json.dumps(r))
        return
    print(f"{r['method']} ({r['recipe']} recipe: {r['arch']}, batch {r['batch']}, {r['size'][0]}x{r['size'][1]}, "
          f"{r['threads']} threads, {r['memory_format']}), median of {r['steps']} interleaved steps:")
    print(f"  densebench {r['densebench_s']:.3f} s ({r['densebench_img_s']} img/s), official {r['official_s']:.3f} s "
          f"({r['official_img_s']} img/s): densebench {r['ratio']}x the official speed")
    if r["aligned"]:
        print(f"  densebench recipe aligned with the official single-process computation: {r['aligned']}")


def _perf(args: argparse.Namespace) -> None:
    if args.davis or args.davis_official:  # --davis-official implies --davis
        return _davis(args)
    if args.coco_eval:
        return _coco_eval(args)
    if args.contention:
        return _contention(args)
    if args.official:
        return _official(args)
    from harness.registry import METHODS
    # by default the methods that train without earlier stages (ORL's would pre-train byol first: ask
    # for it with --method orl)
    device = None if args.device == "auto" else args.device
    if device == "cuda":
        _check_cuda()
    recipe = args.recipe or ("paper" if device == "cuda" else "mini")
    names = args.method or [n for n in METHODS.names() if recipe in METHODS.card(n).recipes
                            and METHODS.card(n).recipe(recipe).train is not None
                            and not METHODS.card(n).recipe(recipe).after]
    for n in names:
        METHODS.card(n).recipe(recipe)  # did-you-mean before any work
    from harness.perf import run_all
    if device == "cuda":  # a method that cannot run here (e.g. hiergroup's paper edges file) is reported, not fatal
        rows, skipped = [], []
        for n in names:
            try:
                rows += run_all([n], args.steps, recipe_name=recipe, device=device, batch=args.batch, flops=True)
            except RuntimeError as e:
                skipped.append(f"{n}: {e}")
        return _print_gpu(rows, skipped, args.json)
    try:
        rows = run_all(names, args.steps, recipe_name=recipe, device=device, batch=args.batch)
    except RuntimeError as e:  # a method's subprocess failed: its last error line, not a traceback
        raise BenchError(str(e)) from e
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'method':<12} {'batch':>5} {'device':>6} {'step s':>8} {'img/s':>7} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['method']:<12} {r['batch']:>5} {r['device']:>6} {r['step_s']:>8.3f} {r['images_per_s']:>7.1f} {r['peak_mem_mib']:>9.0f}")


def _check_cuda() -> None:
    import torch
    if not torch.cuda.is_available():
        raise BenchError("--device cuda: no CUDA device here (torch.cuda.is_available() is False)")


def _print_gpu(rows: list, skipped: list[str], as_json: bool) -> None:
    """Each method's step at its published per-GPU batch and precision, against the GPU's measured
    matrix rate (an fp16 GEMM: the tensor-core rate AMP steps use)."""
    import torch

    from harness.perf import peak_matmul_tflops
    if not rows:
        raise BenchError(f"--device cuda: no method ran ({'; '.join(skipped)})")
    peak = peak_matmul_tflops("cuda", torch.float16)
    for r in rows:
        r["peak_tflop_s"] = round(peak, 1)
        r["fraction_of_peak"] = round(r["tflop_s"] / peak, 3)
    if as_json:
        print(json.dumps({"rows": rows, "not_measured": skipped}))
        return
    print(f"{rows[0]['device_name']}: measured fp16 GEMM peak {peak:.1f} TFLOP/s")
    print(f"{'method':<12} {'batch':>5} {'precision':>9} {'step s':>8} {'img/s':>7} {'TFLOP/step':>10} "
          f"{'TFLOP/s':>8} {'of peak':>7} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['method']:<12} {r['batch']:>5} {r['precision']:>9} {r['step_s']:>8.3f} {r['images_per_s']:>7.1f} "
              f"{r['tflop_per_step']:>10.3f} {r['tflop_s']:>8.1f} {r['fraction_of_peak']:>7.1%} {r['peak_mem_mib']:>9.0f}")
    for line in skipped:
        print(f"not measured: {line}")
