"""`bench data synth`: a synthetic data set in a real layout."""
from __future__ import annotations

import argparse


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="data utilities")
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    s = dsub.add_parser("synth", help="write a synthetic data set in a real layout")
    s.add_argument("--layout", required=True, help="coco, voc, cityscapes, ade20k or davis")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n-train", type=int, default=None, help="train images or sequences (default: the layout's mini size)")
    s.add_argument("--n-val", type=int, default=None)
    s.set_defaults(fn=_synth)


def _synth(args: argparse.Namespace) -> None:
    from harness.data import write_synthetic
    counts = {k: v for k, v in (("n_train", args.n_train), ("n_val", args.n_val)) if v is not None}
    out = write_synthetic(args.layout, args.out, seed=args.seed, **counts)
    print(f"wrote synthetic {args.layout} to {out}")
