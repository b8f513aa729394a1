"""`bench inspect slots`: registered through the `densebench.commands` entry points as `inspect.slots`
(argparse only here; the inspection is imported when the command runs)."""
from __future__ import annotations

import argparse

from harness.cli.args import positive


def add_inspect_slots(isub: argparse._SubParsersAction) -> None:
    s = isub.add_parser("slots", help="overlay SlotCon's pixel-to-prototype assignment on images; count active slots")
    s.add_argument("--checkpoint", required=True, help="a slotcon canonical checkpoint (heads file beside it)")
    s.add_argument("--image", required=True, action="append", help="image file (repeatable)")
    s.add_argument("--out", default="slots.png", help="PNG to write (default slots.png)")
    s.add_argument("--size", type=positive, default=None, help="input side in px (default: the pre-training crop)")
    s.set_defaults(fn=_inspect_slots)


def _inspect_slots(args: argparse.Namespace) -> None:
    from pretrainers.inspect_slots import inspect
    active = inspect(args.checkpoint, args.image, args.out, args.size)
    for im, n in zip(args.image, active):
        print(f"{im}: {n} active slots")
    print(f"mean {sum(active) / len(active):.1f} active slots per image; overlay written to {args.out}")
