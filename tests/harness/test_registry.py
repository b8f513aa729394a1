import subprocess
import sys
import textwrap

import pytest

from harness.cli import main
from harness.errors import BenchError
from harness.registry import METHODS, TASKS, Registry


def test_builtins_registered():
    assert {"mocov2", "random"} <= set(METHODS.names())
    assert "coco_det" in TASKS.names()


def test_unknown_name_suggests_closest():
    with pytest.raises(BenchError, match=r"unknown method 'mocov3'; did you mean 'mocov2'\?"):
        METHODS.get("mocov3")
    with pytest.raises(BenchError, match=r"did you mean 'coco_det'"):
        TASKS.get("coco_dett")


def test_unknown_protocol_suggests_closest():
    with pytest.raises(BenchError, match=r"did you mean 'r50_fpn_2fc_syncbn_1x'"):
        TASKS.get("coco_det").protocol("r50_fpn_2fc_synbn_1x")


def test_cli_error_is_one_line_and_exit_2(capsys):
    assert main(["run", "--method", "mocov3", "--task", "coco_det"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bench: unknown method 'mocov3'")


def test_ls_lists_methods_tasks_profiles_protocols(capsys):
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    for s in ("mocov2", "random", "coco_det", "coco_det/r50_fpn_4conv1fc_syncbn_1x@2",
              "coco_det/r50_fpn_2fc_syncbn_1x@2", "[paper, mini]"):
        assert s in out


def test_duplicate_registration_refused():
    reg = Registry("widget", "densebench.none", lambda: None)
    reg.register("a")(object)
    with pytest.raises(BenchError, match="registered twice"):
        reg.register("a")(object)


def test_entry_point_plugin_is_found(tmp_path):
    """A package outside the repo registers a method through the densebench.methods group."""
    (tmp_path / "myplugin.py").write_text(textwrap.dedent("""
        class Plugin:
            name = "plugmethod"
            description = "a plugin method"
            profiles = {"mini": {}}
    """))
    dist = tmp_path / "myplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[densebench.methods]\nplugmethod = myplugin:Plugin\n")
    code = ("import sys; sys.path.insert(0, %r); from harness.registry import METHODS; "
            "print(METHODS.get('plugmethod').description)") % str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "a plugin method"
