"""Import boundaries: the four components stand alone; the package exports lazily."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys

import pytest
from bench.shape import PACKAGE, find_cycle, import_graph, module_name

import s3redshift

HEAVY = ("s3redshift.loader", "s3redshift.transports", "redshift_connector", "pg8000")


def modules_after_import(module: str, env: dict[str, str] | None = None) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=None if env is None else {**os.environ, **env},
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


ONLY_WHEN_NEEDED = (
    "s3redshift.rejects",  # a skip_rows rule's
    "s3redshift.notifications",  # a [notifications] section's
    "s3redshift.unreachable",  # the CLI's wording of a database that is down
    "s3redshift.ledger_prune",  # ledger prune
    "s3redshift.ledger_queries",  # the ledger's listings
)
"""Modules a Lambda's cold start must not pay for unless its configuration uses them."""


def cold_start_modules(rule_options: dict[str, object]) -> set[str]:
    """The modules a new container has loaded once the adapter built its loader."""
    config = {
        "target": {"transport": "connector", "host": "127.0.0.1", "database": "dev"},
        "credentials": {"provider": "static", "user": "loader", "password": "unused"},
        "copy": {"iam_role": "default"},
        "tables": [{"pattern": "{table}/**", "options": rule_options}],
    }
    code = (
        "import json, sys; import adapters.lambda_entry as entry; "
        "assert entry.init_error is None, entry.init_error; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "S3REDSHIFT_CONFIG": json.dumps(config), "AWS_REGION": "us-east-1"},
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.splitlines()[-1]))  # after the INIT's log lines


def test_a_cold_start_loads_no_module_only_other_rules_or_commands_need() -> None:
    loaded = cold_start_modules({})
    assert "s3redshift.loader" in loaded  # the loader was built at INIT
    assert sorted(loaded.intersection(ONLY_WHEN_NEEDED)) == []


def test_a_cold_start_with_a_skip_rows_rule_loads_the_rejects_module_it_needs() -> None:
    loaded = cold_start_modules({"on_error": "skip_rows", "max_rejected_rows": 5})
    assert "s3redshift.rejects" in loaded
    assert sorted(loaded.intersection(ONLY_WHEN_NEEDED)) == ["s3redshift.rejects"]


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
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
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
