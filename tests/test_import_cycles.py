"""No import cycle inside tokforge: the graph of every import of one tokforge module by another
(at module level and inside functions; ``if TYPE_CHECKING:`` blocks left out) has no cycle."""
import ast
from pathlib import Path

import tokforge

PACKAGE = Path(tokforge.__file__).parent
KERNELS = PACKAGE.parent / "kernels"  # installed as tokforge.kernels


def module_files() -> dict[str, Path]:
    files = {}
    for root, prefix in ((PACKAGE, "tokforge"), (KERNELS, "tokforge.kernels")):
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join((prefix, *parts))] = path
    return files


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """The tokforge modules ``name`` imports: ``import a.b`` and ``from a.b import x`` count ``a.b``, and
    ``from a import b`` counts ``a.b`` when it is a module, else ``a`` (a package's ``__init__`` that
    every import below it runs first is not counted for that: it holds no code tokforge's modules use)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports(name, path, set(files)) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = walk(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = walk(node)
            if cycle:
                return cycle
    return None


def test_the_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_imports_inside_functions_and_not_type_checking_ones(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tokforge.a import A\n"
                      "def f():\n    from tokforge.b import B\n    import tokforge.c\n")
    assert imports("tokforge.m", source, {"tokforge.a", "tokforge.b", "tokforge.c"}) == {"tokforge.b", "tokforge.c"}


def test_no_import_cycle_inside_tokforge():
    graph = import_graph()
    assert len(graph) > 60 and graph["tokforge.training"], "the graph should hold every module and its imports"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
