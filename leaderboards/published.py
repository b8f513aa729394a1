"""Published numbers of the seed papers, one file per paper table (`leaderboards/published/<id>.yaml`).

Each file is the table's definition and its published values, read strictly:

    id: pixpro_t1                      # the file name
    paper: ...                         # authors, title, venue
    seed: 003_1dc62b6ed9ec2b00.txt     # the text in ../shared/seeds/ the numbers were read from
    table: Table 1                     # as the paper names it
    caption: ...
    notes: [...]                       # garbled text resolved from its context, said here, never silently
    columns:                           # task, protocol, metric; or measured: false with the reason
      - {id: coco_fpn_box_ap, header: "COCO (R50-FPN) mAP", task: coco_det,
         protocol: r50_fpn_4conv1fc_syncbn_1x, metric: bbox/AP}
      - {id: voc_c4_ap, header: "Pascal VOC (R50-C4) AP", measured: false, why: "voc_det: issue 20"}
    rows:                              # as printed; method: DenseBench's name, or null if it has none
      - {label: "PixPro (ours) 100", method: pixpro, pretrain_data: imagenet-1k, epochs: 100,
         values: {coco_fpn_box_ap: 41.3, voc_c4_ap: 58.8}}
      - {label: "PixPro (ours) 400", ..., reference: true}  # where a method has several rows in a
                                       # column: the one rank agreement compares with (its `reference_why`)
    agreement_columns: [...]           # optional: the columns whose mean tau is the table's agreement
                                       # (default: every measured column); `agreement_why` says why

A value's source is (paper, table, row label, column header). '-' in the paper is null here.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.schema import read_yaml
from harness.errors import BenchError
from harness.schema import parse

FOLDER = Path(__file__).with_name("published")


@dataclass(frozen=True)
class Column:
    id: str
    header: str
    task: str | None = None
    protocol: str | None = None
    metric: str | None = None
    measured: bool = True
    why: str = ""


@dataclass(frozen=True)
class Row:
    label: str
    method: str | None
    pretrain_data: str
    epochs: int | None
    values: dict
    note: str = ""
    reference: bool = False     # the method's row rank agreement compares with (leaderboards.agreement)
    reference_why: str = ""


@dataclass(frozen=True)
class PaperTable:
    id: str
    paper: str
    seed: str
    table: str
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    agreement_columns: tuple[str, ...] = ()
    agreement_why: str = ""
    file: str = ""

    def column(self, cid: str) -> Column:
        return next(c for c in self.columns if c.id == cid)


def load(file: Path) -> PaperTable:
    """Read and check one paper table (structure; cross-checks against the registries: tests)."""
    return load_data(read_yaml(file, "a published paper table"), file, file.stem)


def load_data(data: Any, file: Path, stem: str | None) -> PaperTable:
    """Check a table's data read from `file` (whose id must be `stem`, unless None)."""
    t = parse(PaperTable, data, str(file))
    from harness.names import check_name
    check_name(t.id, f"{file}: id")  # table ids become parts of sweep folders' names
    if stem is not None and t.id != stem:
        raise BenchError(f"{file}: id '{t.id}' differs from the file name '{stem}'")
    ids = [c.id for c in t.columns]
    if len(set(ids)) != len(ids):
        raise BenchError(f"{file}: column ids repeat")
    for c in t.columns:
        if c.measured and not (c.task and c.protocol and c.metric):
            raise BenchError(f"{file}: column {c.id}: a measured column names task, protocol and metric")
        if not c.measured and not c.why:
            raise BenchError(f"{file}: column {c.id}: measured: false needs why (not measured by DenseBench)")
    measured = [c.id for c in t.columns if c.measured]
    for cid in t.agreement_columns:
        if cid not in measured:
            raise BenchError(f"{file}: agreement_columns: '{cid}' is not a measured column (expected one of {', '.join(measured)})")
    if t.agreement_columns and not t.agreement_why:
        raise BenchError(f"{file}: agreement_columns needs agreement_why (why these columns and not all)")
    refs = [r for r in t.rows if r.reference]
    for r in refs:
        if not r.method or not r.reference_why:
            raise BenchError(f"{file}: row '{r.label}': reference: true needs a method and reference_why")
        if [x.method for x in refs].count(r.method) > 1:
            raise BenchError(f"{file}: method {r.method} has more than one reference row")
    for r in t.rows:
        for k, v in r.values.items():
            if k not in ids:
                raise BenchError(f"{file}: row '{r.label}': value for unknown column '{k}'")
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise BenchError(f"{file}: row '{r.label}', column {k}: {v!r} is not a number (or null for '-')")
    return dataclasses.replace(t, file=str(file))


def all_tables(folder: Path = FOLDER) -> dict[str, PaperTable]:
    return {f.stem: load(f) for f in sorted(folder.glob("*.yaml"))}


OWN_DEFAULTS = {"paper": "(your table)", "seed": "", "caption": "", "rows": []}


def load_own(file: Path) -> PaperTable:
    """A table of one's own: the schema of leaderboards/published/ with paper, seed, table, caption and
    rows optional (a table with no published values is a plain benchmark grid); its measured columns
    must name a registered task, a protocol of it and one of the task's metrics. One-line errors name
    the file and the key."""
    from harness.registry import TASKS
    from harness.schema import read_yaml
    raw = read_yaml(file, "a table file (id, columns: task, protocol, metric)")
    if not isinstance(raw, dict):
        raise BenchError(f"{file}: expected a mapping with id and columns")
    # its id names the sweep's folders, not the file (a user's file may be named anything)
    t = load_data({**OWN_DEFAULTS, "table": str(raw.get("id", file.stem)), **raw}, file, None)
    for c in t.columns:
        if not c.measured:
            continue
        if c.task not in TASKS.names():
            raise BenchError(f"{file}: column {c.id}: task '{c.task}' is not registered (see `bench ls`)")
        if c.protocol not in TASKS.protocols(c.task):
            raise BenchError(f"{file}: column {c.id}: task {c.task} has no protocol '{c.protocol}' "
                             f"(it has {', '.join(TASKS.protocols(c.task))})")
        if c.metric not in TASKS.card(c.task).metric_names and not c.metric.startswith(("IoU.", "AP.")):
            raise BenchError(f"{file}: column {c.id}: '{c.metric}' is not a metric of {c.task} "
                             f"(expected one of {', '.join(TASKS.card(c.task).metric_names)})")
    return t


def resolve(ref: str) -> PaperTable:
    """A seed paper's table by id, or a table file of one's own by path (ending in .yaml / .yml)."""
    if ref.endswith((".yaml", ".yml")):
        path = Path(ref)
        if not path.is_file():
            raise BenchError(f"--table {ref}: no such table file")
        return load_own(path)
    tables = all_tables()
    if ref not in tables:
        from harness.errors import did_you_mean
        raise BenchError(f"--table '{ref}': unknown paper table{did_you_mean(ref, tables)} (see `bench table ls`, "
                         "or give a table file of your own: path/to/table.yaml)")
    return tables[ref]


@dataclass(frozen=True)
class Number:
    """One published number with its source (the long form: what a results table is joined with)."""
    table: str
    row: str
    column: str
    method: str | None
    pretrain_data: str
    epochs: int | None
    task: str | None
    protocol: str | None
    metric: str | None
    value: float
    source: str = field(default="")


def numbers(t: PaperTable) -> list[Number]:
    """Every non-empty cell of a paper table, each naming its source (paper, table, row, column)."""
    out = []
    for r in t.rows:
        for cid, v in r.values.items():
            if v is None:
                continue
            c = t.column(cid)
            out.append(Number(t.id, r.label, c.header, r.method, r.pretrain_data, r.epochs,
                              c.task if c.measured else None, c.protocol if c.measured else None, c.metric,
                              float(v), f"{t.paper}, {t.table}, row '{r.label}', column '{c.header}'"))
    return out
