"""`bench perf <measurement>`: the speed benchmarks, one subcommand each, measured in app.perf:
`step` (training step time and peak memory per method), `contention` (OpenMP wait settings beside a
busy process), `official` (DenseBench's step beside the official code's), `davis` (J&F scoring speed,
the whole `bench davis-score` command included) and `coco-eval` (the COCOeval backends)."""
from __future__ import annotations

import argparse
import json

from harness.args import positive
from harness.errors import BenchError


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("perf", help="speed benchmarks: step, contention, official, davis, coco-eval")
    psub = p.add_subparsers(dest="perf_cmd", required=True, metavar="{step,contention,official,davis,coco-eval}")
    s = psub.add_parser("step", help="training step time and peak memory per method (mini batch; paper on CUDA)")
    s.add_argument("--method", action="append", help="method to measure (repeatable; default: all that train)")
    s.add_argument("--steps", type=positive, default=5, help="timed steps after one warm-up step (median reported)")
    s.add_argument("--batch", type=positive, help="images per step (default: the recipe's per-GPU batch as published)")
    s.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where the steps run (auto: CUDA when present). cuda: the paper recipe by default, at its "
                        "per-GPU batch and precision, with TFLOP/s and the fraction of the GPU's measured peak")
    s.add_argument("--recipe", help="recipe to measure (default: mini; paper with --device cuda)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_step)
    c = psub.add_parser("contention", help="a method's step under each OpenMP wait setting, alone and beside one "
                        "CPU-bound process (harness/threads.py)")
    c.add_argument("--method", default="mocov2", help="method to measure (default mocov2)")
    c.add_argument("--steps", type=positive, default=5, help="timed steps per setting (median reported)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(fn=_contention)
    o = psub.add_parser("official", help="a method's step beside the official implementation's (a checkout at DIR)")
    o.add_argument("dir", metavar="DIR", help="a checkout of the method's official repository (app/perf/official.py)")
    o.add_argument("--method", required=True, help="the method (one with an official adapter)")
    o.add_argument("--steps", type=positive, default=5, help="timed steps, interleaved (median reported)")
    o.add_argument("--batch", type=positive, default=8, help="images per step (default 8)")
    o.add_argument("--json", action="store_true")
    o.set_defaults(fn=_official)
    d = psub.add_parser("davis", help="DAVIS J&F scoring speed against the official algorithm (and program)")
    # DAVIS-2017 val has 30 sequences of 25-104 frames (about 67 on average) at 854x480
    d.add_argument("--sequences", type=positive, default=8, help="synthetic 854x480 sequences to score (default 8)")
    d.add_argument("--frames", type=positive, default=40, help="frames per sequence (default 40; at least 3)")
    d.add_argument("--official", metavar="DIR", help="also run the official program from a checkout of "
                   "davisvideochallenge/davis2017-evaluation at DIR on the same files (CSVs compared)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(fn=_davis)
    e = psub.add_parser("coco-eval", help="COCO evaluation time, pycocotools against faster-coco-eval, same numbers checked")
    e.add_argument("--images", type=positive, default=5000, help="synthetic val images (default 5000, COCO val's size)")
    e.add_argument("--json", action="store_true")
    e.set_defaults(fn=_coco_eval)


def _coco_eval(args: argparse.Namespace) -> None:
    from app.perf.coco_eval import coco_eval_speed
    r = coco_eval_speed(n_images=args.images)
    if args.json:
        print(json.dumps(r))
        return
    print(f"COCO evaluation of {r['detections']} detections on {r['images']} synthetic images:")
    for iou in ("bbox", "segm"):
        print(f"  {iou}: pycocotools {r[f'{iou}_pycocotools_s']} s, faster-coco-eval {r[f'{iou}_faster-coco-eval_s']} s, "
              f"{r[f'{iou}_speedup']}x faster; largest difference of the 12 summary numbers {r[f'{iou}_max_abs_diff']:.2g}")


def _davis(args: argparse.Namespace) -> None:
    if args.frames < 3:
        raise BenchError(f"--frames must be >= 3 (first and last frames are not scored); got {args.frames}")
    from app.perf.davis import davis_speed
    r = davis_speed(n_seq=args.sequences, n_frames=args.frames, official=args.official)
    if args.json:
        print(json.dumps(r))
        return
    print(f"DAVIS J&F on {r['sequences']} x {r['frames']} frames at {r['size']}: reference (per-frame, official "
          f"algorithm) {r['reference_s']} s, densebench scorer {r['densebench_s']} s ({r['speedup']}x faster), "
          f"whole `bench davis-score` command {r['command_s']} s (median of {len(r['command_runs_s'])}; "
          f"{r['command_speedup']}x; {r['command_minor_faults']} minor page faults), "
          f"identical numbers: {r['identical']} (J&F-Mean {r['J&F-Mean']})")
    if args.official:
        print(f"official davis2017-evaluation program {r['official_command_s']} s (median of "
              f"{len(r['official_runs_s'])}, interleaved with ours; {r['official_minor_faults']} minor page faults): `bench davis-score` "
              f"{r['official_speedup']}x faster end to end; CSVs identical: {r['official_csvs_identical']}")


def _contention(args: argparse.Namespace) -> None:
    from harness.registry import METHODS
    method = args.method
    METHODS.card(method).recipe("mini")  # did-you-mean before any work
    from app.perf.step import contention
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
    from app.perf.official import adapters, compare_in_subprocess
    if args.method not in adapters():
        raise BenchError(f"--method {args.method}: no official adapter (one of {', '.join(sorted(adapters()))})")
    from pathlib import Path
    if not Path(args.dir).is_dir():  # before the measuring subprocess and its synthetic data
        raise BenchError(f"DIR {args.dir}: not a folder (expected a checkout of {args.method}'s official repository)")
    r = compare_in_subprocess(args.method, args.dir, args.steps, args.batch)
    if args.json:
        print(json.dumps(r))
        return
    print(f"{r['method']} ({r['recipe']} recipe: {r['arch']}, batch {r['batch']}, {r['size'][0]}x{r['size'][1]}, "
          f"{r['threads']} threads, {r['memory_format']}), median of {r['steps']} interleaved steps:")
    print(f"  densebench {r['densebench_s']:.3f} s ({r['densebench_img_s']} img/s), official {r['official_s']:.3f} s "
          f"({r['official_img_s']} img/s): densebench {r['ratio']}x the official speed")
    if r["aligned"]:
        print(f"  densebench recipe aligned with the official single-process computation: {r['aligned']}")


def _step(args: argparse.Namespace) -> None:
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
    from app.perf.step import run_all
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

    from app.perf.step import peak_matmul_tflops
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
