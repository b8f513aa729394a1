"""`bench inspect slots`: registered through the `densebench.commands` entry points as `inspect.slots`
(argparse only here; the inspection is imported when the command runs)."""
from __future__ import annotations

import argparse

from harness.args import out_file, positive


def add_inspect_slots(isub: argparse._SubParsersAction) -> None:
    s = isub.add_parser("slots", help="overlay SlotCon's pixel-to-prototype assignment on images; count active slots")
    s.add_argument("--checkpoint", required=True, help="a slotcon canonical checkpoint (heads file beside it)")
    s.add_argument("--image", required=True, action="append", help="image file (repeatable)")
    out_file(s, "slots.png", "PNG")
    s.add_argument("--size", type=positive, default=None, help="input side in px (default: the pre-training crop)")
    s.set_defaults(fn=_inspect_slots)


def _inspect_slots(args: argparse.Namespace) -> None:
    from harness.outputs import check_output_file, note_written
    from pretrainers.slotcon_inspect import inspect
    check_output_file(args.out, [args.checkpoint, *args.image], args.force, "--out")
    active = inspect(args.checkpoint, args.image, args.out, args.size)
    note_written(args.out)
    for im, n in zip(args.image, active):
        print(f"{im}: {n} active slots")
    print(f"mean {sum(active) / len(active):.1f} active slots per image; overlay written to {args.out}")


def add_inspect_orl_pairs(isub: argparse._SubParsersAction) -> None:
    s = isub.add_parser("orl-pairs", help="grid of ORL's top retrieved RoI pairs; pair precision on annotated images")
    s.add_argument("--checkpoint", required=True,
                   help="the stage-1 network (a byol checkpoint, or any canonical one), or an orl checkpoint "
                        "(its own correspondence)")
    s.add_argument("--top", type=positive, default=16, help="pairs in the grid, best cosine first (default 16)")
    out_file(s, "orl_pairs.png", "PNG")
    s.add_argument("--recipe", default=None, help="the orl recipe whose stage-2 settings and images to use "
                                                  "(default: the one named like the checkpoint's scale)")
    s.add_argument("--baseline", default=None, help="also the pair precision of this checkpoint's stage 2, or "
                                                    "'random' (a random-init backbone of the recipe's scale)")
    s.add_argument("--data-root", default=None, help="root of the real data sets (default $DENSEBENCH_DATA)")
    s.set_defaults(fn=_inspect_orl_pairs)


def _inspect_orl_pairs(args: argparse.Namespace) -> None:
    from harness.outputs import check_output_file, note_written
    from pretrainers.orl_inspect import inspect_pairs
    check_output_file(args.out, [args.checkpoint], args.force, "--out")
    r = inspect_pairs(args.checkpoint, args.out, args.top, args.recipe, args.baseline, args.data_root)
    note_written(args.out)
    c = r["counts"]
    print(f"{c['images']} images, {c['boxes']} boxes, {c['pairs']} RoI pairs; top {args.top} written to {r['grid']}")
    if "precision" in r:
        p = r["precision"]
        print(f"pair precision {p['pair_precision']:.3f}; both boxes dominated by an object: "
              f"{p['both_dominated']:.3f}, of which the same class: {p['object_pair_precision']:.3f}")
    if "baseline" in r:
        b = r["baseline"]
        print(f"baseline {b['checkpoint']}: pair precision {b['pair_precision']:.3f}; both dominated "
              f"{b['both_dominated']:.3f}, of which the same class: {b['object_pair_precision']:.3f}")


def add_inspect_ucm(isub: argparse._SubParsersAction) -> None:
    s = isub.add_parser("ucm", help="hiergroup's grouping of an image: the image, its UCM and its finest regions (PNG)")
    s.add_argument("--image", required=True, help="image file")
    out_file(s, "ucm.png", "PNG")
    s.add_argument("--edges-model", default=None, help="the BSDS500 structured-edge model file (model.yml.gz): "
                                                       "structured edges as the paper; default: the gradient fallback")
    s.add_argument("--max-regions", type=positive, default=40, help="regions at the finest level (default 40, the paper's)")
    s.set_defaults(fn=_inspect_ucm)


def _inspect_ucm(args: argparse.Namespace) -> None:
    from pretrainers.hiergroup_ucm import EdgeSettings, ucm_figure
    from harness.outputs import check_output_file, note_written
    check_output_file(args.out, [args.image, args.edges_model], args.force, "--out")
    settings = EdgeSettings("structured" if args.edges_model else "gradient", args.edges_model, args.max_regions)
    r = ucm_figure(args.image, args.out, settings)
    note_written(args.out)
    print(f"{r['regions']} regions ({settings.edges} edges); image | UCM | regions written to {r['out']}")
