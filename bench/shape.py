"""The code's shape, read from the source: size, longest function, import cycles.

These are the code's measured bounds (the product, without the
stand-in, in at most 11,000 lines; no function over 60 lines; ``events.py``
in at most 500; no import cycle). The tests assert the bounds that hold
(tests/test_shape.py, tests/test_imports.py) with the same functions; the
bench reports the figures beside the others.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "s3redshift"
STAND_IN = PACKAGE / "local"


def module_name(path: Path) -> str:
    """``s3redshift.cli.load`` for src/s3redshift/cli/load.py."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_files() -> list[Path]:
    """The product's modules: the package without the stand-in."""
    return sorted(p for p in PACKAGE.rglob("*.py") if STAND_IN not in p.parents)


def lines(paths: list[Path]) -> int:
    """Physical lines, blank lines and docstrings included (what ``wc -l`` counts)."""
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in paths)


def function_lengths(paths: list[Path]) -> dict[str, int]:
    """``path:function`` -> its lines, from ``def`` to its last line, docstring included."""
    lengths: dict[str, int] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = path.relative_to(SRC) if path.is_relative_to(SRC) else path
                name = f"{where}:{node.lineno}:{node.name}"
                lengths[name] = (node.end_lineno or node.lineno) - node.lineno + 1
    return lengths


def import_graph() -> dict[str, set[str]]:
    """Every project module -> the project modules it imports, anywhere in it.

    Imports under ``TYPE_CHECKING`` and inside functions count too: a cycle
    that only a lazy import hides is still two modules that cannot be
    understood (or moved) one without the other. The package's ``__init__``,
    which re-exports lazily, is left out.
    """
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
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


def measure() -> dict[str, list[float]]:
    """The shape figures (one sample each: they are counts, not timings)."""
    product = product_files()
    longest = max(function_lengths(list(PACKAGE.rglob("*.py"))).values())
    return {
        "product_lines": [float(lines(product))],
        "stand_in_lines": [float(lines(sorted(STAND_IN.rglob("*.py"))))],
        "events_py_lines": [float(lines([PACKAGE / "events.py"]))],
        "longest_function_lines": [float(longest)],
        "import_cycles": [float(bool(find_cycle(import_graph())))],
    }


def run() -> None:
    lengths = function_lengths(list(PACKAGE.rglob("*.py")))
    for name, length in sorted(lengths.items(), key=lambda item: -item[1])[:10]:
        print(f"  {length:4d} {name}")
    for figure, (value,) in measure().items():
        print(f"  {figure:34s} {value:>12.0f}")
