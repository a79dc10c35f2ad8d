"""The import contract of docs/architecture.md: each layer imports only from the layers below it, no
import loop anywhere (lazy imports inside functions count), and the doc names every module."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"

#: The layers, lowest first: a module may import from its own layer and the ones before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("extras", "timing", "atomic"),
    ("core",),
    ("io",),
    ("sources",),
    ("pipeline",),
    ("vectors",),
    ("shards",),
    ("cli", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every ``instructlin`` module ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "instructlin":
            if node.module == "instructlin":  # ``from instructlin import name``: the package or a submodule
                found |= {f"instructlin.{alias.name}" for alias in node.names}
            else:
                found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "instructlin"}
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """module -> the modules of the package it imports (names that are not modules are dropped)."""
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    return RANK.get(parts[1]) if len(parts) > 1 else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            low, high = layer_of(module), layer_of(target)
            if low is not None and high is not None and high > low:
                bad.append(f"{module} -> {target}")
    return bad


def import_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each one an import loop.

    A subpackage's ``__init__`` that re-exports its submodules does not count as their importer's target:
    ``import instructlin.shards.runs`` runs ``instructlin/shards/__init__.py`` first by Python's rules.
    """
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in edges[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return loops


def test_every_module_sits_in_a_layer():
    graph = import_graph(ROOT / "instructlin")
    homeless = [m for m in graph if m != "instructlin" and layer_of(m) is None]
    assert not homeless, f"modules outside every layer of LAYERS (add them to the doc and here): {homeless}"


def test_no_module_imports_from_a_layer_above_its_own():
    assert upward_imports(import_graph(ROOT / "instructlin")) == []


def test_no_import_loop_even_through_lazy_imports():
    assert import_loops(import_graph(ROOT / "instructlin")) == []


def test_the_app_helpers_have_no_import_loop():
    assert import_loops(import_graph(ROOT / "ui")) == []


def test_a_planted_upward_import_and_a_planted_loop_are_caught(tmp_path):
    package = tmp_path / "instructlin"
    shutil.copytree(ROOT / "instructlin", package, ignore=shutil.ignore_patterns("__pycache__"))
    metrics = package / "core" / "metrics.py"
    metrics.write_text(metrics.read_text(encoding="utf-8")
                       + "\n\ndef _planted():\n    from instructlin.cli import commands\n", encoding="utf-8")
    graph = import_graph(package)
    assert "instructlin.core.metrics -> instructlin.cli.commands" in upward_imports(graph)
    assert any({"instructlin.core.metrics", "instructlin.cli.commands"} <= set(loop) for loop in import_loops(graph))


@pytest.mark.parametrize("folder", ["instructlin", "ui"])
def test_the_architecture_doc_names_every_module(folder):
    doc = DOC.read_text(encoding="utf-8")
    missing = [str(p.relative_to(ROOT / folder)) for p in sorted((ROOT / folder).rglob("*.py"))
               if p.name != "__init__.py" and f"`{p.relative_to(ROOT / folder).as_posix()}`" not in doc]
    assert not missing, f"docs/architecture.md does not name these {folder}/ modules: {missing}"


def test_the_doc_lists_the_layers_in_the_contract_order():
    doc = DOC.read_text(encoding="utf-8")
    table = re.findall(r"^\| (\d+) \| ([^|]+) \|", doc, flags=re.M)
    named = [tuple(re.findall(r"`(\w+)(?:/|\.py)`", cell)) for _, cell in table]
    assert named == list(LAYERS), "the layer table of docs/architecture.md and LAYERS here disagree"


def test_the_glossary_defines_the_project_words():
    doc = DOC.read_text(encoding="utf-8")
    glossary = doc[doc.index("## Glossary"):]
    for word in ("aspect", "instruction", "pair", "teacher", "pack", "stand-in"):
        assert re.search(rf"^- \*\*{re.escape(word)}\*\*", glossary, flags=re.M | re.I), word


def test_every_named_choice_is_a_choice_that_lists_the_valid_values():
    """One kind of enum for every choice a user names (method, device, encoder, selection, engine, ...): a
    typo is refused by listing the valid values. ``extras.Extra`` sits below the core and names pip extras."""
    import enum
    import importlib
    import pkgutil

    import instructlin
    from instructlin.core.choices import Choice

    enums = set()
    for info in pkgutil.walk_packages(instructlin.__path__, "instructlin."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        enums |= {v for v in vars(module).values() if isinstance(v, type) and issubclass(v, enum.Enum)
                  and v.__module__ == info.name and v is not Choice}
    assert len(enums) >= 9
    stray = sorted(e.__qualname__ for e in enums if not issubclass(e, Choice) and e.__name__ != "Extra")
    assert not stray, f"enums that are not instructlin.core.choices.Choice: {stray}"
    for choice in enums - {e for e in enums if e.__name__ == "Extra"}:
        with pytest.raises(ValueError, match=re.escape(", ".join(choice.values()))):
            choice("no-such-value")


@pytest.mark.parametrize("folder", ["instructlin", "ui"])
def test_no_module_is_over_250_lines(folder):
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / folder).rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 250}
    assert not long, f"split these by concept: {long}"


def test_pages_are_thin():
    """A page script is widgets, cached calls and charts; the rest lives in ui/ and the library."""
    long = {p.name: n for p in sorted((ROOT / "app_pages").glob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 80}
    assert not long and len(list((ROOT / "app_pages").glob("*.py"))) == 6, long
