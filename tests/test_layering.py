"""Data flows one way: pretrainers -> canonical checkpoint -> converters -> benchmarks -> results ->
leaderboards. harness/ imports neither pretrainers/ nor benchmarks/, and those two never import
each other. This walks every import statement of every module (including function-local ones)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FORBIDDEN = {"harness": {"pretrainers", "benchmarks"}, "pretrainers": {"benchmarks"}, "benchmarks": {"pretrainers"}}


def imported_packages(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_against_the_flow(package):
    bad = [f"{p.relative_to(ROOT)} imports {sorted(imported_packages(p) & FORBIDDEN[package])}"
           for p in sorted((ROOT / package).rglob("*.py")) if imported_packages(p) & FORBIDDEN[package]]
    assert not bad, "\n".join(bad)


def test_the_walk_sees_function_local_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from benchmarks.x import y\n    import pretrainers.z\n")
    assert imported_packages(f) == {"benchmarks", "pretrainers"}
