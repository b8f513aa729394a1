import subprocess
import sys
import textwrap

import pytest

from app.cli import main
from harness.errors import BenchError
from harness.registry import METHODS, TASKS, Registry


def test_builtins_registered_through_entry_points():
    assert {"mocov2", "random", "pixpro", "pixcontrast", "slotcon", "byol", "densecl"} <= set(METHODS.names())
    assert {"coco_det", "voc_seg", "davis_vos", "voc_retrieval"} <= set(TASKS.names())
    assert METHODS.entry("mocov2").target == "pretrainers.mocov2:MoCoV2"
    assert METHODS.card("slotcon").export_encoder == "ema" and TASKS.card("coco_det").metrics[0].name == "bbox/AP"


def test_installed_entry_points_match_pyproject():
    """A stale editable install (pyproject.toml changed, bootstrap not re-run) is caught here."""
    import tomllib
    from pathlib import Path
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["entry-points"]
    for group, reg in (("densebench.methods", METHODS), ("densebench.tasks", TASKS)):
        assert {n: reg.entry(n).target for n in pyproject[group]} == pyproject[group]


def test_unknown_name_suggests_closest():
    with pytest.raises(BenchError, match=r"unknown method 'mocov3'; did you mean 'mocov2'\?"):
        METHODS.entry("mocov3")
    with pytest.raises(BenchError, match=r"did you mean 'coco_det'"):
        TASKS.entry("coco_dett")
    with pytest.raises(BenchError, match=r"method 'pixpro' has no recipe 'paper_in1k_10ep'; did you mean"):
        METHODS.card("pixpro").recipe("paper_in1k_10ep")


def test_unknown_protocol_suggests_closest():
    with pytest.raises(BenchError, match=r"did you mean 'r50_fpn_2fc_syncbn_1x'"):
        TASKS.protocol("coco_det", "r50_fpn_2fc_synbn_1x")


def test_protocol_version_other_than_current_is_refused():
    assert TASKS.protocol("davis_vos", "videowalk@1").version == 1
    assert TASKS.protocol("davis_vos", "davis_vos/videowalk@1").id == "videowalk"
    with pytest.raises(BenchError, match=r"davis_vos/videowalk is at version 1; version 7 is not the current one"):
        TASKS.protocol("davis_vos", "videowalk@7")
    with pytest.raises(BenchError, match=r"belongs to task 'coco_det', not 'davis_vos'"):
        TASKS.protocol("davis_vos", "coco_det/videowalk@1")


def test_cli_error_is_one_line_and_exit_2(capsys):
    assert main(["run", "--method", "mocov3", "--task", "coco_det"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bench: unknown method 'mocov3'")
    assert main(["run", "--method", "mocov2", "--task", "davis_vos", "--protocol", "videowalk@7"]) == 2
    assert "version 7 is not the current one" in capsys.readouterr().err


def test_recipe_and_scale_arguments(capsys):
    """--recipe of another scale than --scale is refused; --profile (the old word) still works."""
    assert main(["run", "--method", "pixpro", "--task", "coco_det", "--recipe", "paper_in1k_100ep", "--scale", "mini"]) == 2
    assert "paper-scale recipe; its checkpoint cannot be evaluated at --scale mini" in capsys.readouterr().err
    assert main(["run", "--method", "pixpro", "--task", "coco_det", "--profile", "mini", "--scale", "mini"]) == 2
    assert "--profile is the old name" in capsys.readouterr().err
    assert main(["run", "--method", "mocov2", "--task", "coco_det", "--scale", "mimi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bench run: argument --scale: invalid choice: 'mimi'" in err


def test_ls_lists_methods_recipes_tasks_protocols(capsys):
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    for s in ("mocov2", "random", "coco_det", "coco_det/r50_fpn_4conv1fc_syncbn_1x@3", "paper_in1k_100ep (paper)",
              "coco_det/r50_fpn_2fc_syncbn_1x@2", "[paper, mini]"):
        assert s in out


@pytest.mark.parametrize("argv", [["ls"], ["-h"], ["leaderboard", "--task", "coco_det"], ["results"],
                                  ["protocol", "show", "voc_seg", "--scale", "mini"]])
def test_small_commands_import_no_torch_nor_framework(argv, tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from app.cli import main
        try:
            main({argv!r} + (["--results-root", {str(tmp_path)!r}] if {argv!r}[0] in ("leaderboard", "results") else []))
        except SystemExit:
            pass
        heavy = [m for m in ("torch", "torchvision", "detectron2", "mmseg", "mmengine", "cv2") if m in sys.modules]
        print("HEAVY", heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert "HEAVY []" in out, out[-2000:]


def test_same_name_registered_twice_is_refused(tmp_path):
    """Two installed packages claiming one method name with different implementations: one-line error."""
    dist = tmp_path / "twin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: twin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[densebench.methods]\nmocov2 = twin.method:Other\n")
    code = ("import sys; sys.path.insert(0, %r); from harness.registry import METHODS\n"
            "try:\n    METHODS.names()\nexcept Exception as e:\n    print(type(e).__name__, e)") % str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("BenchError method 'mocov2' is registered twice")
    assert "pretrainers.mocov2:MoCoV2" in out and "twin.method:Other" in out


def test_registry_without_entry_points_says_how_to_install():
    class Widgets(Registry):
        def card(self, name):
            return name
    with pytest.raises(BenchError, match=r"no widgets registered .*\(run scripts/bootstrap.sh\)"):
        Widgets("widget", "densebench.none").names()
