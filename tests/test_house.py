"""The house rules that a reviewer would otherwise check by eye: imports only go one way (no cycles,
counting imports inside functions and of a package's ``__init__``; none between the layer packages of
``bench/`` either), modules stay small, and the top of ``bench/`` stays short enough to show the layers."""
import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "ours", "adapters")
MAX_LINES = 400
MAX_TOP_MODULES = 12  # modules directly in bench/ (entry points, leaf utilities, plug-in paths)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules ``name`` imports anywhere in its file: ``from pkg import x`` counts the package
    (its ``__init__`` runs) and the submodule ``pkg.x`` when there is one."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_the_import_graph_has_no_cycles():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail("import cycle: " + " -> ".join(exc.args[1]))


def _layers(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph of ``bench`` collapsed to its layers: a subpackage of ``bench`` (``bench.run``,
    ``bench.results``, ...) is one node, a module directly in ``bench/`` is its own node."""
    def layer(name: str) -> str:
        parts = name.split(".")
        return ".".join(parts[:2])

    out: dict[str, set[str]] = {}
    for name, targets in graph.items():
        if name.split(".")[0] != "bench" or name == "bench":
            continue
        out.setdefault(layer(name), set()).update(
            layer(t) for t in targets if t.split(".")[0] == "bench" and t != "bench" and layer(t) != layer(name))
    return out


def test_the_layers_of_bench_import_one_way():
    modules = _modules()
    layers = _layers({name: _imports(name, path, modules) for name, path in modules.items()})
    try:
        list(graphlib.TopologicalSorter(layers).static_order())
    except graphlib.CycleError as exc:
        pytest.fail("layers import each other: " + " -> ".join(exc.args[1]))


def test_the_layer_check_sees_a_cycle():
    """Two modules without a cycle between them still make one between their layers."""
    graph = {"bench.run.a": {"bench.results.b"}, "bench.results.c": {"bench.run.d"},
             "bench.results.b": set(), "bench.run.d": set()}
    assert _layers(graph) == {"bench.run": {"bench.results"}, "bench.results": {"bench.run"}}
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter(_layers(graph)).static_order())


def test_the_top_of_bench_stays_short():
    top = sorted(p.name for p in (ROOT / "bench").glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_MODULES, (
        f"{len(top)} modules at the top of bench/ ({', '.join(top)}): put new ones in the layer package "
        "they belong to (CONTRIBUTING.md)")


def test_the_cycle_check_sees_a_cycle(tmp_path):
    """The check above can fail: a two-module cycle through a function-level import is found."""
    graph = {"a": {"b"}, "b": {"a"}}
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter(graph).static_order())
    (tmp_path / "m.py").write_text("def f():\n    from bench import adapter\n")
    assert _imports("bench.m", tmp_path / "m.py", {"bench.adapter": Path(), "bench.m": Path()}) == {"bench.adapter"}


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in _modules().values()))
def test_modules_stay_small(path):
    lines = len((ROOT / path).read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path} has {lines} lines: split it by job (CONTRIBUTING.md)"
