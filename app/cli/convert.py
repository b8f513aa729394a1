"""`bench convert` (canonical -> backend weights) and `bench import` (official release -> canonical)."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.names import name_arg


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="canonical checkpoint -> backend weights")
    p.add_argument("--to", required=True, choices=["detectron2", "torchvision", "mmseg"])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--force", action="store_true", help="replace an existing output that DenseBench did not write")
    p.set_defaults(fn=_convert)

    p = sub.add_parser("import", help="official release or torchvision file -> canonical checkpoint")
    p.add_argument("--from", dest="source", required=True,
                   help="auto (recognise the layout and say which), torchvision, pixpro, pixcontrast, slotcon, mocov2, "
                        "orl, densecl, byol, timm, mmpretrain, vissl, solo-learn (local files only)")
    p.add_argument("--method", type=name_arg, default=None, help="method name to record (default: the --from name)")
    p.add_argument("--epochs", default="unknown")
    p.add_argument("--pretrain-data", default="unknown")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--force", action="store_true", help="replace an existing output that DenseBench did not write")
    p.set_defaults(fn=_import)


def _convert(args: argparse.Namespace) -> None:
    from harness.checkpoint import load_canonical
    from harness.convert import BACKENDS
    from harness.outputs import check_output_file, note_written
    check_output_file(args.output, [args.input], args.force)
    state, _ = load_canonical(args.input)
    rep = BACKENDS[args.to](state, args.output)
    note_written(args.output)
    print(f"{args.output}: {rep.summary()}")


def _import(args: argparse.Namespace) -> None:
    from harness.checkpoint import save_canonical
    from harness.official import import_meta, import_state
    from harness.outputs import check_output_file, note_written
    check_output_file(args.output, [args.input], args.force)
    state, arch, rep, source = import_state(args.input, args.source)
    if rep.found:
        print(f"{args.input}: found {rep.found}; imported as --from {source}")
    meta = import_meta(source, arch, Path(args.input), method=args.method, epochs=args.epochs,
                       pretrain_data=args.pretrain_data)
    save_canonical(args.output, state, meta)
    note_written(args.output)
    print(f"{args.output}: {arch}, {rep.summary()}")
    for k in rep.dropped[:20]:
        print(f"  dropped {k}")
    if len(rep.dropped) > 20:
        print(f"  ... and {len(rep.dropped) - 20} more dropped keys")
