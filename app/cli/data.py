"""`bench data synth`: a synthetic data set in a real layout."""
from __future__ import annotations

import argparse

from harness.args import positive, seed
from harness.data import LAYOUTS

_NAMES = ", ".join(LAYOUTS)  # the registered layouts, so the help cannot fall behind them


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="data utilities")
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    s = dsub.add_parser("synth", help="write a synthetic data set in a real layout")
    s.add_argument("--layout", required=True, help=_NAMES)
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=seed, default=0)
    s.add_argument("--n-train", type=positive, default=None, help="train images or sequences (default: the layout's mini size)")
    s.add_argument("--n-val", type=positive, default=None)
    s.add_argument("--world", type=int, choices=[1, 2], default=1,
                   help="1 (default): the mini protocols' scenes; 2: shape-defined classes, appearance per instance, "
                        "dead-leaves clutter (coco and voc; harness/data/world.py)")
    s.set_defaults(fn=_synth)
    v = dsub.add_parser("verify", help="check a data set: every file present and decoding, sizes, modes, labels")
    v.add_argument("--layout", required=True, help=_NAMES)
    v.add_argument("--root", default=None, help="the data set's folder (default: <data root>/<layout folder>)")
    v.add_argument("--data-root", default=None, help="root of the real data sets (default $DENSEBENCH_DATA)")
    v.add_argument("--split", action="append", help="split to check (repeatable; default: the layout's splits)")
    v.set_defaults(fn=_verify)


def _synth(args: argparse.Namespace) -> None:
    from harness.data import write_synthetic
    counts = {k: v for k, v in (("n_train", args.n_train), ("n_val", args.n_val)) if v is not None}
    if args.world != 1:
        counts["world"] = args.world
    out = write_synthetic(args.layout, args.out, seed=args.seed, **counts)
    print(f"wrote synthetic {args.layout} to {out}")


def _verify(args: argparse.Namespace) -> None:
    from pathlib import Path

    from harness.data import layout, real_root, verify
    from harness.data.verifier import describe
    from harness.errors import BenchError
    lay = layout(args.layout)
    for split in args.split or ():  # every argument before any decoding
        lay.check_split(split)
    root = Path(args.root) if args.root else real_root(args.layout, args.data_root)
    total = 0
    for split in args.split or lay.default_splits:
        problems = verify(lay, root, split)
        print(describe(problems, lay.name, root, split))
        total += len(problems)
    if total:
        raise BenchError(f"{total} problems in {root} (listed above)")
