"""The README's measured tables, generated from the shipped store (leaderboards/measured/), never typed:
each block between

    <!-- generated: bench table ID --scale SCALE --shipped-only -->
    ...
    <!-- end generated -->

in README.md and docs/*.md is the output of that command. `bench docs` rewrites the blocks; `bench docs
--check` (and tests/app/test_docs.py) fails when one differs, so the tables cannot drift from the
records."""
from __future__ import annotations

import re
from pathlib import Path

from harness.errors import BenchError

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- generated: bench table (?P<id>[a-z0-9_]+) --scale (?P<scale>paper|mini) --shipped-only"
                   r"(?P<all> --all-versions)? -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def regenerate(text: str, where: str) -> str:
    """`text` with every generated block's body replaced by its command's output."""
    from app.cli.table import table_text
    from leaderboards.published import all_tables
    tables = all_tables()

    def body(m: re.Match) -> str:
        if m["id"] not in tables:
            raise BenchError(f"{where}: a generated block names the unknown paper table '{m['id']}'")
        out = table_text(m["id"], m["scale"], None, "md", bool(m["all"]), shipped="only")
        return m.group(1) + "```text\n" + out + "```\n<!-- end generated -->"
    new = BLOCK.sub(body, text)
    if text.count("<!-- generated:") != len(BLOCK.findall(text)):
        raise BenchError(f"{where}: a '<!-- generated:' block is malformed (expected `<!-- generated: bench table ID "
                         "--scale mini|paper --shipped-only -->` ... `<!-- end generated -->`)")
    return new


def documents(root: Path | None = None) -> list[Path]:
    """README.md and docs/*.md of the checkout (or of `root`)."""
    root = ROOT if root is None else root
    if not (root / "README.md").is_file():
        raise BenchError(f"{root}: no README.md (bench docs works on a DenseBench checkout)")
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def stale(root: Path | None = None) -> dict[Path, str]:
    """The documents whose generated blocks differ from their commands' output: path -> new text."""
    out = {}
    for p in documents(root):
        text = p.read_text()
        if "<!-- generated:" in text:
            new = regenerate(text, str(p))
            if new != text:
                out[p] = new
    return out
