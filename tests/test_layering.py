"""Data flows one way: pretrainers -> canonical checkpoint -> converters -> benchmarks -> results ->
leaderboards, with the commands and sweep runners (app/) on top. harness/ imports none of the others;
pretrainers/ and benchmarks/ never import each other; leaderboards/ reads records (harness) and runs
nothing; nothing imports app/. And no module imports, directly or round a loop, a module that imports
it back. This walks every import statement of every module (including function-local ones)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("app", "harness", "pretrainers", "benchmarks", "leaderboards")
FORBIDDEN = {"harness": {"pretrainers", "benchmarks", "leaderboards", "app"},
             "pretrainers": {"benchmarks", "leaderboards", "app"},
             "benchmarks": {"pretrainers", "leaderboards", "app"},
             # tables read records; orchestration (subprocesses, schedulers) lives in app/
             "leaderboards": {"pretrainers", "benchmarks", "app", "subprocess", "submitit"},
             "app": set()}


def imports(path: Path) -> set[str]:
    """Every module name an import statement of `path` names (`from a.b import c` gives a.b and a.b.c)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def imported_packages(path: Path) -> set[str]:
    return {m.split(".")[0] for m in imports(path)}


def modules() -> dict[str, Path]:
    """Our module names -> files (a package's __init__ under the package's name)."""
    out = {}
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            parts = p.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def graph() -> dict[str, set[str]]:
    """module -> the modules of ours it imports (a name that is no module of ours: its package)."""
    mods = modules()
    g = {}
    for name, path in mods.items():
        targets = set()
        for m in imports(path):
            while m and m not in mods:
                m = m.rpartition(".")[0]
            if m and m != name:
                targets.add(m)
        g[name] = targets
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_against_the_flow(package):
    bad = [f"{p.relative_to(ROOT)} imports {sorted(imported_packages(p) & FORBIDDEN[package])}"
           for p in sorted((ROOT / package).rglob("*.py")) if imported_packages(p) & FORBIDDEN[package]]
    assert not bad, "\n".join(bad)


def test_no_import_cycle():
    g = graph()
    assert not cycles(g), "\n".join(" <-> ".join(c) for c in cycles(g))


def test_the_walk_sees_function_local_imports_and_cycles(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from benchmarks.x import y\n    import pretrainers.z\n")
    assert imported_packages(f) == {"benchmarks", "pretrainers"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
