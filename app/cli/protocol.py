"""`bench protocol show TASK[/ID[@V]] [--scale paper|mini] [--resolved]`: a protocol's settings, or with
--resolved the framework config exactly as Detectron2 / mmengine receives it (YAML, to diff against
an official config file)."""
from __future__ import annotations

import argparse

from harness.scales import SCALES


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocol", help="show a task's protocol (settings, or the resolved framework config)")
    psub = p.add_subparsers(dest="protocol_cmd", required=True)
    s = psub.add_parser("show", help="print a protocol at a scale")
    s.add_argument("ref", metavar="TASK[/ID[@VERSION]]", help="a task (its default protocol) or task/protocol")
    s.add_argument("--scale", default="paper", choices=SCALES, help="paper (default) or mini")
    s.add_argument("--resolved", action="store_true",
                   help="the framework config as the framework receives it (imports the task and its framework)")
    s.set_defaults(fn=_show)


def _show(args: argparse.Namespace) -> None:
    import yaml

    from harness.registry import TASKS
    task, _, pid = args.ref.partition("/")
    p = TASKS.protocol(task, pid or None)
    spec = p.resolved(args.scale)
    if args.resolved:
        print(f"# {p.full_id} ({args.scale}): the config {task}'s framework receives (paths are placeholders)")
        print(TASKS.load(task).framework_config(p.settings(args.scale), args.scale), end="")
        return
    print(f"# {p.full_id} ({args.scale}); file {p.file}")
    print(f"# source: {' '.join(p.source.split())}")
    print(yaml.safe_dump(spec, sort_keys=False), end="")
    exp = p.expected()
    if args.scale == "mini" and exp is not None:
        print(f"# expected at seed 0 ({exp.metric}): mocov2 {list(exp.mocov2)}, random {list(exp.random)}")
