"""harness.names (one pattern for every name that becomes part of a path, checked where it enters)
and harness.logs (framework warnings into the run's log, not the console)."""
import warnings

import pytest

from harness.errors import BenchError
from harness.names import check_name
from harness.registry import METHODS, TASKS
from leaderboards.published import all_tables


@pytest.mark.parametrize("bad", ["..", ".hidden", "a/b", "a\\b", "a b", "a\0b", "a\nb", "-opt", "", "x" * 101, None, 3])
def test_the_pattern_refuses_what_could_leave_a_folder(bad):
    with pytest.raises(BenchError, match="not a valid name"):
        check_name(bad, "--method")


def test_every_shipped_name_fits_the_pattern():
    names = [*METHODS.names(), *TASKS.names(), *all_tables()]
    names += [r for m in METHODS.names() for r in METHODS.card(m).recipes]
    names += [p for t in TASKS.names() for p in TASKS.protocols(t)]
    assert all(check_name(n, "name") == n for n in names) and len(names) > 40


def test_a_recipe_file_with_a_bad_recipe_name_is_refused(tmp_path):
    from harness.recipe import load_card
    f = tmp_path / "m.yaml"
    f.write_text("method: m\ndescription: d\nexport_encoder: online\nsource: s\nrecipes:\n  ../up: {version: 1, scale: mini}\n")
    with pytest.raises(BenchError, match=r"recipes: '../up': not a valid name"):
        load_card(f, "m")


def test_warnings_go_into_the_log_not_the_console(tmp_path, capsys):
    from harness.logs import warnings_into
    log = tmp_path / "warnings.log"
    with warnings_into(log):
        for _ in range(3):
            warnings.warn("torch.meshgrid: pass indexing", UserWarning)
        warnings.warn("deprecated", FutureWarning)
    assert capsys.readouterr().err == ""
    text = log.read_text()
    assert text.count("UserWarning: torch.meshgrid: pass indexing") == 1 and "FutureWarning: deprecated" in text
    with pytest.warns(UserWarning):  # outside the block: as before
        warnings.warn("after", UserWarning)
