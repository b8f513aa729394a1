"""`bench inspect rank` (effective rank per stage, a collapse check) and `bench inspect embedding`
(an exported pixel embedding as PCA colours). Other `bench inspect` commands
are added by methods through the `densebench.commands` entry points (e.g. `inspect.slots`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.args import out_file, positive


def add(sub: argparse._SubParsersAction) -> dict[str, argparse._SubParsersAction]:
    p = sub.add_parser("inspect", help="look inside a checkpoint")
    isub = p.add_subparsers(dest="inspect_cmd", required=True)
    s = isub.add_parser("rank", help="effective rank of each stage's features beside random init (collapse check)")
    s.add_argument("--checkpoint", required=True, action="append", help="canonical checkpoint (repeatable)")
    s.add_argument("--images", default=None, help="folder of images (default: the mini synthetic COCO val2017)")
    s.add_argument("--n", type=positive, default=40, help="number of images, sorted by name (default 40)")
    s.add_argument("--size", type=positive, nargs=2, default=[96, 128], metavar=("H", "W"), help="input size (default 96 128)")
    s.set_defaults(fn=_inspect_rank)
    e = isub.add_parser("embedding", help="a checkpoint's exported pixel embedding as colour (first 3 PCA components)")
    e.add_argument("--checkpoint", required=True, help="canonical checkpoint with an exported embedding (e.g. hiergroup)")
    e.add_argument("--image", required=True, help="image file")
    out_file(e, "embedding.png", "PNG")
    e.add_argument("--size", type=positive, default=None, help="resize the image's shorter side to this many px first")
    e.set_defaults(fn=_inspect_embedding)
    return {"inspect": isub}


def _inspect_embedding(args: argparse.Namespace) -> None:
    from harness.inspect_embedding import embedding_figure
    from harness.outputs import check_output_file, note_written
    check_output_file(args.out, [args.checkpoint, args.image], args.force, "--out")
    r = embedding_figure(args.checkpoint, args.image, args.out, args.size)
    note_written(args.out)
    print(f"{r['dim']}-d embedding, {r['cells']} cells; image | first 3 PCA components written to {r['out']}")


def _inspect_rank(args: argparse.Namespace) -> None:
    from harness.checkpoint import read_meta
    from harness.inspect_rank import STAGES, image_list, rank_table
    for c in args.checkpoint:  # every argument before the synthetic images are made
        read_meta(c)
    if args.images:
        folder = Path(args.images)
    else:  # the mini scale's synthetic COCO val images (written on first use)
        from harness.data import dataset_root
        folder = dataset_root("coco", "mini", None, {}) / "val2017"
    images = image_list(folder, args.n)
    rows = rank_table([Path(c) for c in args.checkpoint], images, tuple(args.size))
    print(f"effective rank of each stage's features ({len(images)} images from {folder}, {args.size[0]}x{args.size[1]} px)")
    print(f"{'':<40}" + "".join(f"{s:>9}" for s in STAGES))
    for name, ranks in rows:
        print(f"{name:<40}" + "".join(f"{r:>9.1f}" for r in ranks))
