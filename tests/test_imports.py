"""Import boundaries: the four components stand alone; the package exports lazily."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import s3redshift

HEAVY = ("s3redshift.loader", "s3redshift.transports", "redshift_connector", "pg8000")


def modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    "module",
    ["s3redshift.events", "s3redshift.mapping", "s3redshift.copy", "s3redshift.credentials"],
)
def test_component_imports_pull_in_no_loader_transport_or_driver(module: str) -> None:
    loaded = modules_after_import(module)
    assert module in loaded
    leaked = sorted(m for m in loaded if m.startswith(HEAVY))
    assert leaked == []


def test_importing_the_package_loads_no_submodule_and_no_boto3() -> None:
    loaded = modules_after_import("s3redshift")
    assert sorted(m for m in loaded if m.startswith("s3redshift.")) == []
    assert "boto3" not in loaded


def test_every_export_resolves_to_the_defining_modules_object() -> None:
    for name in s3redshift.__all__:
        module = importlib.import_module(f"s3redshift.{s3redshift._EXPORTS[name]}")
        assert getattr(s3redshift, name) is getattr(module, name), name
        assert name in module.__all__, f"{name} is not in {module.__name__}.__all__"


def test_exports_are_sorted_and_unknown_names_raise() -> None:
    assert s3redshift.__all__ == sorted(s3redshift.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = s3redshift.Nope


# --- the import graph: no cycles --------------------------------------------------------

SRC = Path(__file__).resolve().parent.parent / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every project module → the project modules it imports, anywhere in it.

    Imports under ``TYPE_CHECKING`` and inside functions count too: a cycle
    that only a lazy import hides is still two modules that cannot be
    understood (or moved) one without the other. The package's ``__init__``,
    which re-exports lazily, is left out.
    """
    modules = {_module_name(p): p for p in (SRC / "s3redshift").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in modules and m not in (name, "s3redshift")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path of module names, or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                return [*path[path.index(imported) :], imported]
            if imported not in state and (cycle := visit(imported)):
                return cycle
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return []


def test_the_project_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "s3redshift.loader" in graph  # the walk found the package
    assert find_cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def imports_of_the_stand_in() -> list[tuple[str, str, bool]]:
    """``(module, imported, lazily)`` for each import of ``s3redshift.local`` outside it.

    ``lazily``: the import sits inside a function, so importing the module
    does not load the stand-in.
    """
    found = []
    for path in (SRC / "s3redshift").rglob("*.py"):
        name = _module_name(path)
        if name == "s3redshift.local" or name.startswith("s3redshift.local."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lazy = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            imported = []
            if isinstance(node, ast.ImportFrom) and node.module:
                imported = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                imported = [a.name for a in node.names]
            for module in imported:
                if module == "s3redshift.local" or module.startswith("s3redshift.local."):
                    found.append((name, module, id(node) in lazy))
    return found


def test_no_module_of_the_product_imports_the_stand_in() -> None:
    """Only the CLI's ``demo`` command loads it, lazily, when it runs."""
    found = imports_of_the_stand_in()
    allowed = [
        (module, imported, lazily)
        for module, imported, lazily in found
        if module.startswith("s3redshift.cli")
        and imported.startswith("s3redshift.local.demo")
        and lazily
    ]
    assert found == allowed
    assert allowed, "the CLI's demo command loads the stand-in's demo"
    for module in (
        "s3redshift.handler",
        "s3redshift.cli",
        "s3redshift.transports.connector",
        "s3redshift.transports.data_api",
    ):
        loaded = modules_after_import(module)
        assert not [m for m in loaded if m.startswith("s3redshift.local")], module
