"""`bench docs`: the README's measured tables are the output of `bench table ID --shipped-only`, so
they cannot drift from the shipped records (leaderboards/measured/)."""
from __future__ import annotations

import pytest

from app import docs
from app.cli import main
from harness.errors import BenchError
from tests.leaderboards.test_shipped import shipped_store  # noqa: F401  (fixture)

BLOCK = "<!-- generated: bench table zhang_maire_t1 --scale mini --shipped-only -->\n{body}<!-- end generated -->\n"


@pytest.mark.real_shipped
def test_the_repository_documents_are_up_to_date():
    assert docs.stale() == {}, "run `bench docs` and commit the tables it rewrites"


def test_a_block_is_the_command_output_and_check_names_a_stale_document(shipped_store, tmp_path, capsys):  # noqa: F811
    (tmp_path / "docs").mkdir()
    readme = tmp_path / "README.md"
    readme.write_text("# title\n\n" + BLOCK.format(body="typed by hand\n") + "after\n")
    (tmp_path / "docs" / "other.md").write_text("no blocks here\n")
    docs.ROOT, old = tmp_path, docs.ROOT
    try:
        assert main(["docs", "--check"]) == 2
        assert f"differ from the shipped records in {readme}" in capsys.readouterr().err
        assert readme.read_text().count("typed by hand") == 1            # --check writes nothing
        assert main(["docs"]) == 0
        assert capsys.readouterr().out == f"rewrote the generated tables of {readme}\n"
        text = readme.read_text()
        assert main(["table", "zhang_maire_t1", "--shipped-only"]) == 0
        table = capsys.readouterr().out
        assert text == "# title\n\n" + BLOCK.format(body="```text\n" + table + "```\n") + "after\n"
        assert "| hiergroup / mini@v2 | measured (mini, shipped) |" in text
        assert main(["docs", "--check"]) == 0
    finally:
        docs.ROOT = old


@pytest.mark.parametrize("block,error", [
    ("<!-- generated: bench table nosuch --scale mini --shipped-only -->\nx\n<!-- end generated -->\n",
     "unknown paper table 'nosuch'"),
    ("<!-- generated: bench table zhang_maire_t1 --scale mini -->\nx\n<!-- end generated -->\n", "is malformed"),
    ("<!-- generated: bench table zhang_maire_t1 --scale mini --shipped-only -->\nno end\n", "is malformed"),
])
def test_a_bad_block_is_one_line_naming_the_file(block, error):
    with pytest.raises(BenchError, match=error) as e:
        docs.regenerate(block, "README.md")
    assert str(e.value).startswith("README.md: ") and "\n" not in str(e.value)
