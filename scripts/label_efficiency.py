"""Issue 42 part 3's first measurement: does a low-label regime, or a frozen-feature probe, separate
pre-trained backbones from random init in today's mini world?

For each method (random, mocov2, pixpro; their `mini` recipes, pre-training seed 0) the script
fine-tunes the default mini voc_seg protocol on the first 5%, 10%, 25% and 100% of the synthetic
VOC training images (`dataset.synth.n_train` of 600; the schedule, 300 iterations at batch 8, and
the validation set stay the same, as label-efficiency studies keep them), then runs the frozen
probes (voc_aspp_frozen, voc_retrieval) on the full set. Records go to a results root of their own
(runs with overrides are '+custom': never beside protocol results); the summary is printed as a
markdown table and written as JSON.

--world 2 pre-trains and evaluates in synthetic world 2 (harness/data/world.py: `synth: {world: 2}`
in the recipe's data and in the protocols' data sets, the rest of each recipe and protocol as it is),
the measurement that decides whether that world becomes the mini default (issue 42 part 3).

    python scripts/label_efficiency.py OUT_DIR [--seeds 0] [--world 2] [--methods random,mocov2] [--fractions 1.0]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

METHODS = ("random", "mocov2", "pixpro")
FRACTIONS = (0.05, 0.10, 0.25, 1.0)
N_TRAIN = 600  # harness.data.voc.write_synthetic_voc's default: the mini VOC training set


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seeds", default="0", help="downstream seeds, comma-separated")
    ap.add_argument("--world", type=int, choices=[1, 2], default=1, help="the synthetic world (default 1, the mini default)")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default random,mocov2,pixpro)")
    ap.add_argument("--fractions", default=",".join(map(str, FRACTIONS)), help="label fractions (default 0.05,0.1,0.25,1.0)")
    args = ap.parse_args()
    from harness import runs
    from harness import registry
    seeds = [int(s) for s in args.seeds.split(",")]
    methods, fractions = args.methods.split(","), [float(f) for f in args.fractions.split(",")]
    world = {"world": args.world} if args.world != 1 else {}
    rows, t0 = [], time.time()
    for method in methods:
        t1 = time.time()
        trains = registry.METHODS.card(method).recipe("mini").data is not None  # random init reads no data
        ck = runs.pretrain(method, "mini", 0, progress=False, overrides={"data": {"synth": world}} if world and trains else None)
        print(json.dumps({"method": method, "pretrain_s": round(time.time() - t1, 1), "checkpoint": str(ck)}), flush=True)
        for seed in seeds:
            for f in fractions:
                synth = {**world, **({"n_train": round(f * N_TRAIN)} if f != 1.0 else {})}
                ov = {"dataset": {"synth": synth}} if synth else None
                rec = runs.evaluate(ck, "voc_seg", None, "mini", seed=seed, results_root=args.out / "results", overrides=ov)
                rows.append({"method": method, "seed": seed, "task": "voc_seg", "labels": f, "mIoU": rec["metrics"]["mIoU"],
                             "wall_s": round(rec["wall_s"], 1)})
                print(json.dumps(rows[-1]), flush=True)
            for task in ("voc_aspp_frozen", "voc_retrieval"):
                rec = runs.evaluate(ck, task, None, "mini", seed=seed, results_root=args.out / "results",
                                    overrides={"dataset": {"synth": world}} if world else None)
                rows.append({"method": method, "seed": seed, "task": task, "labels": 1.0, "mIoU": rec["metrics"]["mIoU"],
                             "wall_s": round(rec["wall_s"], 1)})
                print(json.dumps(rows[-1]), flush=True)
    from harness.files import atomic_write_text
    atomic_write_text(args.out / "label_efficiency.json", json.dumps({"rows": rows, "wall_s": round(time.time() - t0)}, indent=1))
    cols = [("voc_seg", f) for f in fractions] + [("voc_aspp_frozen", 1.0), ("voc_retrieval", 1.0)]
    print("| method | " + " | ".join(f"{t} {int(f * 100)}%" for t, f in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for m in methods:
        vals = []
        for t, f in cols:
            v = [r["mIoU"] for r in rows if (r["method"], r["task"], r["labels"]) == (m, t, f)]
            vals.append(f"{sum(v) / len(v):.2f}" if v else "-")
        print(f"| {m} | " + " | ".join(vals) + " |")


if __name__ == "__main__":
    main()
