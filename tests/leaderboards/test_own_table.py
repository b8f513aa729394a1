"""A table of one's own (issue 44): the published tables' schema with paper, rows and values
optional, read by bench table / sweep / compare; every bad key is one line naming the file and key."""
from pathlib import Path

import pytest

from app.cli import main
from harness.errors import BenchError
from leaderboards.published import load_own, resolve

GOOD = """id: my_probes
columns:
  - {id: davis, header: "DAVIS J&F", task: davis_vos, protocol: videowalk, metric: J&F-Mean}
  - {id: ret, header: "retrieval", task: voc_retrieval, protocol: kmeans15_nn1, metric: mIoU}
"""


def _file(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


def test_a_minimal_own_table_reads_with_defaults(tmp_path):
    t = resolve(str(_file(tmp_path, GOOD)))
    assert t.id == "my_probes" and t.rows == () and [c.task for c in t.columns] == ["davis_vos", "voc_retrieval"]
    assert t.paper == "(your table)" and t.table == "my_probes"


@pytest.mark.parametrize("text,fragment", [
    (GOOD.replace("columns:", "colums:"), "colums: unknown key; did you mean 'columns'?"),
    (GOOD.replace("task: davis_vos", "task: davis"), "column davis: task 'davis' is not registered"),
    (GOOD.replace("protocol: videowalk", "protocol: walk"), "column davis: task davis_vos has no protocol 'walk'"),
    (GOOD.replace("metric: mIoU", "metric: mIOU"), "column ret: 'mIOU' is not a metric of voc_retrieval"),
    (GOOD + "rows:\n  - {label: A, method: x, pretrain_data: coco, epochs: 1, values: {nope: 1}}\n",
     "row 'A': value for unknown column 'nope'"),
    ("id: a b\ncolumns: []\n", "id 'a b': not a valid name"),
])
def test_bad_own_tables_are_one_line_naming_file_and_key(tmp_path, text, fragment):
    f = _file(tmp_path, text)
    with pytest.raises(BenchError, match=None) as e:
        load_own(f)
    assert str(f) in str(e.value) and fragment in str(e.value), str(e.value)


def test_cli_reads_own_tables_and_refuses_a_missing_file(tmp_path, capsys):
    f = _file(tmp_path, GOOD)
    assert main(["table", str(f), "--no-shipped", "--results-root", str(tmp_path)]) == 0
    assert "| row | kind | DAVIS J&F | retrieval |" in capsys.readouterr().out
    assert main(["table", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml: no such table file" in capsys.readouterr().err
    assert main(["sweep", "--table", str(tmp_path / "absent.yaml"), "--dry-run"]) == 2


def test_sweep_dry_run_plans_an_own_table_for_a_method(tmp_path, capsys):
    f = _file(tmp_path, GOOD)
    assert main(["sweep", "--table", str(f), "--method", "mocov2", "--seeds", "0-1", "--dry-run",
                 "--results-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "pending   mocov2/mini seed 1  voc_retrieval/kmeans15_nn1" in out and "0 of 4 trials recorded" in out
    assert main(["sweep", "--table", str(f), "--dry-run"]) == 2               # no rows, no --method: nothing to run
    assert "nothing DenseBench can measure" in capsys.readouterr().err
